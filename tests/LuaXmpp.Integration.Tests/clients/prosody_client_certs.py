#!/usr/bin/python3
"""prosody-modules' mod_client_certs (XEP-0257, Client Certificate Management) with slixmpp.

A (--jid) appends its certificate (--cert: base64 DER whose id-on-xmppAddr is A's JID),
lists it, tries bad input (a certificate naming someone else, one that is not X.509 at all,
a request without a name), disables it and lists again. B (--peer-jid) pings the server
afterwards: bad input must not have disturbed anyone else.
"""

from slixmpp.xmlstream import ET

import xmpptest

NS = "urn:xmpp:saslcert:1"


def append(name, cert):
    el = ET.Element("{%s}append" % NS)
    if name is not None:
        ET.SubElement(el, "{%s}name" % NS).text = name
    ET.SubElement(el, "{%s}x509cert" % NS).text = cert
    return el


def disable(name):
    el = ET.Element("{%s}disable" % NS)
    ET.SubElement(el, "{%s}name" % NS).text = name
    return el


def answer(iq):
    """'result', or the error's type/condition."""
    if iq["type"] == "result":
        return "result"
    error = iq.xml.find("{jabber:client}error")
    return "%s/%s" % (error.get("type") if error is not None else "?", xmpptest.condition(iq))


async def items(client, t):
    reply = await xmpptest.send_iq(client, "get", None, ET.Element("{%s}items" % NS), t)
    listed = []
    for item in reply.xml.iter("{%s}item" % NS):
        listed.append({"name": item.findtext("{%s}name" % NS), "x509cert": item.findtext("{%s}x509cert" % NS)})
    return answer(reply), listed


async def scenario(args, result):
    t = args.step_timeout
    a = xmpptest.Client(args.jid, args.password, plugins=("xep_0030",))
    b = xmpptest.Client(args.peer_jid, args.peer_password)
    try:
        await xmpptest.open_session(args, a, presence=False)
        await xmpptest.open_session(args, b, presence=False)
        info = await a["xep_0030"].get_info(jid=a.boundjid.domain, timeout=t)
        result["feature"] = NS in info["disco_info"]["features"]

        result["append"] = answer(await xmpptest.send_iq(a, "set", None, append("laptop", args.cert), t))
        result["list_type"], result["listed"] = await items(a, t)

        result["someone_elses"] = answer(await xmpptest.send_iq(a, "set", None, append("stolen", args.stranger_cert), t))
        result["not_x509"] = answer(await xmpptest.send_iq(a, "set", None, append("junk", "bm90IGEgY2VydGlmaWNhdGU="), t))
        result["not_base64"] = answer(await xmpptest.send_iq(a, "set", None, append("junk2", "%%% not base64 %%%"), t))
        result["no_name"] = answer(await xmpptest.send_iq(a, "set", None, append(None, args.cert), t))
        _, result["listed_after_bad_input"] = await items(a, t)

        result["disable"] = answer(await xmpptest.send_iq(a, "set", None, disable("laptop"), t))
        _, result["listed_after_disable"] = await items(a, t)

        ping = ET.Element("{urn:xmpp:ping}ping")
        result["peer_ping"] = answer(await xmpptest.send_iq(b, "get", b.boundjid.domain, ping, t))
    finally:
        await xmpptest.close(a)
        await xmpptest.close(b)


if __name__ == "__main__":
    p = xmpptest.peer_parser(__doc__)
    p.add_argument("--cert", required=True, help="base64 DER of A's certificate")
    p.add_argument("--stranger-cert", required=True, help="base64 DER of a certificate for another JID")
    raise SystemExit(xmpptest.run(scenario, p.parse_args()))
