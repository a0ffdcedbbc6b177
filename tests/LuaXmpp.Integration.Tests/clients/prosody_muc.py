#!/usr/bin/python3
"""Prosody's mod_muc on a Component with a slixmpp client (XEP-0045).

A (--jid) discovers the MUC service (--service), joins a new room (§7.2, §10.1.1:
instant room, status 110 and 201), sends a groupchat message and receives it
back as every occupant does (§7.4).
"""

import slixmpp
from slixmpp.xmlstream import ET

import xmpptest

MUC = "http://jabber.org/protocol/muc"
MUC_USER = MUC + "#user"
DISCO_INFO = "http://jabber.org/protocol/disco#info"


async def scenario(args, result):
    t = args.step_timeout
    a = xmpptest.Client(args.jid, args.password)
    room = "tavern@" + args.service
    joined = xmpptest.Waiter(a, "presence", lambda p: p["from"].bare == room
                             and p.xml.find("{%s}x/{%s}status[@code='110']" % (MUC_USER, MUC_USER)) is not None)
    echo = xmpptest.Waiter(a, "message", lambda m: m["type"] == "groupchat" and m["body"] == "hello room")
    try:
        await xmpptest.open_session(args, a)
        request = a.Iq()
        request["type"] = "get"
        request["to"] = args.service
        request.append(ET.Element("{%s}query" % DISCO_INFO))
        reply = await request.send(timeout=t)
        q = reply.xml.find("{%s}query" % DISCO_INFO)
        result["identities"] = [{"category": i.get("category"), "type": i.get("type")}
                                for i in q.findall("{%s}identity" % DISCO_INFO)]
        result["features"] = [f.get("var") for f in q.findall("{%s}feature" % DISCO_INFO)]
        presence = a.Presence()
        presence["to"] = room + "/alice"
        presence.append(ET.Element("{%s}x" % MUC))
        presence.send()
        p = await joined.wait(t, "self-presence from the room")
        result["join_codes"] = sorted(s.get("code") for s in p.xml.iter("{%s}status" % MUC_USER))
        a.send_message(mto=room, mbody="hello room", mtype="groupchat")
        m = await echo.wait(t, "the groupchat message back from the room")
        result["echo_from"] = str(m["from"])
        xmpptest.expect(result, {"category": "conference", "type": "text"} in result["identities"],
                        "identities %s" % result["identities"])
    finally:
        await xmpptest.close(a)


if __name__ == "__main__":
    p = xmpptest.parser(__doc__)
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--service", required=True)
    raise SystemExit(xmpptest.run(scenario, p.parse_args()))
