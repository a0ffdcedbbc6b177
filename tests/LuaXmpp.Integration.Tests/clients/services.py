#!/usr/bin/python3
"""Asks the server about itself: disco#info (XEP-0030), ping (XEP-0199),
software version (XEP-0092) and entity time (XEP-0202); records the stream
features offered after authentication (e.g. roster versioning, XEP-0237)."""

import time

import slixmpp

import xmpptest


async def iq_get(client, to, tag, timeout):
    iq = client.Iq()
    iq["type"] = "get"
    iq["to"] = to
    iq.append(slixmpp.xmlstream.ET.Element(tag))
    return await iq.send(timeout=timeout)


async def scenario(args, result):
    t = args.step_timeout
    client = xmpptest.Client(args.jid, args.password)
    try:
        await xmpptest.open_session(args, client)
        server = client.boundjid.domain
        result["stream_features"] = client.stream_features

        info = await iq_get(client, server, "{http://jabber.org/protocol/disco#info}query", t)
        query = info.xml.find("{http://jabber.org/protocol/disco#info}query")
        result["identities"] = [
            {"category": i.get("category"), "type": i.get("type"), "name": i.get("name")}
            for i in query.findall("{http://jabber.org/protocol/disco#info}identity")]
        result["features"] = [f.get("var") for f in query.findall("{http://jabber.org/protocol/disco#info}feature")]

        started = time.monotonic()
        pong = await iq_get(client, server, "{urn:xmpp:ping}ping", t)
        result["ping"] = {"type": pong["type"], "from": str(pong["from"]),
                          "seconds": round(time.monotonic() - started, 3)}

        version = await iq_get(client, server, "{jabber:iq:version}query", t)
        q = version.xml.find("{jabber:iq:version}query")
        result["version"] = {child.tag.split("}")[-1]: child.text for child in q}

        now = await iq_get(client, server, "{urn:xmpp:time}time", t)
        q = now.xml.find("{urn:xmpp:time}time")
        result["time"] = {child.tag.split("}")[-1]: child.text for child in q}

        xmpptest.expect(result, {"category": "server", "type": "im"} in
                        [{"category": i["category"], "type": i["type"]} for i in result["identities"]],
                        "no server/im identity in %s" % result["identities"])
        xmpptest.expect(result, pong["type"] == "result", "ping answered %s" % pong["type"])
        xmpptest.expect(result, bool(result["version"].get("name")), "version has no name")
    finally:
        await xmpptest.close(client)


if __name__ == "__main__":
    p = xmpptest.parser(__doc__)
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    raise SystemExit(xmpptest.run(scenario, p.parse_args()))
