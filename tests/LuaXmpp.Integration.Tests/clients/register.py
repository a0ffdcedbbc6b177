#!/usr/bin/python3
"""Creates an account with XEP-0077 in-band registration, then logs in with it.

Reports the registration form fields, the outcome of the <iq type='set'/> and
whether the new account could open a session. With --expect-conflict the
registration must fail with <conflict/> (XEP-0077 §3.1: username taken).
"""

import slixmpp

import xmpptest


def raw_condition(iq):
    """The condition element's name, also for those slixmpp does not know (policy-violation)."""
    error = iq.xml.find("{jabber:client}error")
    for child in (error if error is not None else []):
        if child.tag.startswith("{urn:ietf:params:xml:ns:xmpp-stanzas}") and not child.tag.endswith("}text"):
            return child.tag.split("}")[-1]
    return None


async def scenario(args, result):
    client = xmpptest.Client(args.jid, args.password,
                             plugins=("xep_0030", "xep_0004", "xep_0066", "xep_0077"))
    # slixmpp 1.8 queues every IQ until a session exists, which would hold back
    # the pre-authentication registration IQs (XEP-0077 §3.1) forever.
    client._always_send_everything = True

    async def on_register(form):
        result["form_fields"] = sorted(
            child.tag.split("}")[-1] for child in form["register"].xml)
        iq = client.Iq()
        iq["type"] = "set"
        iq["register"]["username"] = client.boundjid.user
        iq["register"]["password"] = client.password
        try:
            await iq.send(timeout=args.step_timeout)
            result["registration"] = "ok"
        except slixmpp.exceptions.IqError as err:
            result["registration"] = err.iq["error"]["condition"] or raw_condition(err.iq)
            result["registration_error_type"] = err.iq["error"]["type"]
            client.disconnect()
        except slixmpp.exceptions.IqTimeout:
            result["registration"] = "timeout"
            client.disconnect()

    client.add_event_handler("register", on_register)
    try:
        await xmpptest.open_session(args, client)
        result["logged_in"] = True
        result["bound_jid"] = str(client.boundjid)
    except xmpptest.ScenarioFailure as failure:
        result["logged_in"] = False
        result["login_error"] = str(failure)
    result["register_feature_offered"] = any(
        "{http://jabber.org/features/iq-register}register" in f for f in client.stream_features)
    await xmpptest.close(client)
    if args.expect_conflict:
        xmpptest.expect(result, result.get("registration") == "conflict",
                        "registration outcome %r, wanted conflict" % result.get("registration"))
    else:
        xmpptest.expect(result, result.get("registration") == "ok",
                        "registration outcome %r" % result.get("registration"))
        xmpptest.expect(result, result["logged_in"], "could not log in after registering")


if __name__ == "__main__":
    p = xmpptest.parser(__doc__)
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--expect-conflict", action="store_true")
    raise SystemExit(xmpptest.run(scenario, p.parse_args()))
