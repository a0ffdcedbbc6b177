#!/usr/bin/python3
"""Logs one account in (RFC 6120 §6 SASL, §7 bind) and reports how.

Exit 0 when the outcome matches the expectation: a bound session, or with
--expect-failure a SASL <failure/> whose condition is reported.
"""

import asyncio

import xmpptest


async def scenario(args, result):
    client = xmpptest.Client(args.jid, args.password, mech=args.mech)
    outcome = await xmpptest.connect(args, client)
    authenticated = outcome == "session"
    result["outcome"] = outcome
    result["authenticated"] = authenticated
    result["mechanism"] = client.mechanism_used
    result["mechanisms_offered"] = client.mechanisms_offered
    result["stream_features"] = client.stream_features
    result["auth_failures"] = client.auth_failures
    result["tls"] = client.tls_used or args.direct_tls
    result["bound_jid"] = str(client.boundjid) if authenticated else None
    await xmpptest.close(client)
    if args.expect_failure:
        xmpptest.expect(result, not authenticated, "login succeeded but failure was expected")
        xmpptest.expect(result, len(client.auth_failures) > 0, "no SASL <failure/> received")
    else:
        xmpptest.expect(result, authenticated, "login failed: %s" % client.auth_failures)
        if args.mech:
            xmpptest.expect(result, client.mechanism_used == args.mech,
                            "used %s, wanted %s" % (client.mechanism_used, args.mech))


if __name__ == "__main__":
    p = xmpptest.parser(__doc__)
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--mech", help="only this SASL mechanism (e.g. SCRAM-SHA-256)")
    p.add_argument("--expect-failure", action="store_true")
    raise SystemExit(xmpptest.run(scenario, p.parse_args()))
