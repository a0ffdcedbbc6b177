#!/usr/bin/python3
"""Prosody's mod_muc (with mod_muc_mam) on a Component, three slixmpp occupants (XEP-0045).

A (--jid1) discovers the service and creates a room by joining it (§10.1.1: status 110
and 201), accepts the default configuration (instant room, §10.1.2), B (--jid2) joins,
A's groupchat message reaches both (§7.4), C (--jid3) joins late and gets it as history
with a delay (§7.2.15), B sends A a private message through the room (§7.5), the
service's disco#items lists the room (§6.3) and a MAM query to the room (XEP-0313 §4,
mod_muc_mam) returns the groupchat message.

Abuse, while the three stay in the room: a fourth client (--jid4) takes a nick in use
(§7.2.9: conflict), an over-long nick and a room name with characters JIDs forbid
(RFC 7622 §3.3.1: jid-malformed); afterwards the room still carries B's message to A.
"""

import asyncio

from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

import xmpptest

MUC = "http://jabber.org/protocol/muc"
MUC_USER = MUC + "#user"
MUC_OWNER = MUC + "#owner"
DISCO_INFO = "http://jabber.org/protocol/disco#info"
DISCO_ITEMS = "http://jabber.org/protocol/disco#items"
MAM = "urn:xmpp:mam:2"
DELAY = "urn:xmpp:delay"
FORWARD = "urn:xmpp:forward:0"




def codes(presence):
    return sorted(s.get("code") for s in presence.xml.iter("{%s}status" % MUC_USER))


def self_presence(client, room):
    return xmpptest.Waiter(client, "presence", lambda p: p["from"].bare == room
                           and p.xml.find("{%s}x/{%s}status[@code='110']" % (MUC_USER, MUC_USER)) is not None)


def join(client, occupant_jid):
    presence = client.Presence()
    presence["to"] = occupant_jid
    presence.append(ET.Element("{%s}x" % MUC))
    presence.send()


def groupchat(client, room, body):
    return xmpptest.Waiter(client, "message", lambda m: m["type"] == "groupchat" and m["from"].bare == room and m["body"] == body)


async def create_room(a, args, room, result, t):
    reply = await xmpptest.send_iq(a, "get", args.service, ET.Element("{%s}query" % DISCO_INFO), t)
    q = reply.xml.find("{%s}query" % DISCO_INFO)
    result["features"] = [f.get("var") for f in q.findall("{%s}feature" % DISCO_INFO)] if q is not None else []
    joined = self_presence(a, room)
    join(a, room + "/alice")
    result["create_codes"] = codes(await joined.wait(t, "A's self-presence from the new room"))
    # The default configuration but listed in disco#items (§10.2: muc#roomconfig_publicroom).
    owner = ET.Element("{%s}query" % MUC_OWNER)
    form = ET.SubElement(owner, "{jabber:x:data}x", {"type": "submit"})
    for var, value in (("FORM_TYPE", MUC + "#roomconfig"), ("muc#roomconfig_publicroom", "1")):
        field = ET.SubElement(form, "{jabber:x:data}field", {"var": var})
        ET.SubElement(field, "{jabber:x:data}value").text = value
    result["configured"] = (await xmpptest.send_iq(a, "set", room, owner, t))["type"]


async def converse(a, b, c, args, room, result, t):
    joined = self_presence(b, room)
    join(b, room + "/bob")
    result["join_codes"] = codes(await joined.wait(t, "B's self-presence"))
    at_a, at_b = groupchat(a, room, "hello room"), groupchat(b, room, "hello room")
    a.send_message(mto=room, mbody="hello room", mtype="groupchat")
    result["groupchat_at"] = [str((await at_a.wait(t, "the groupchat at A"))["from"]),
                              str((await at_b.wait(t, "the groupchat at B"))["from"])]
    history = groupchat(c, room, "hello room")
    joined = self_presence(c, room)
    join(c, room + "/carol")
    await joined.wait(t, "C's self-presence")
    h = await history.wait(t, "the history message at the late joiner")
    result["history"] = {"from": str(h["from"]),
                         "delayed": h.xml.find("{%s}delay" % DELAY) is not None}
    private = xmpptest.Waiter(a, "message", lambda m: m["type"] == "chat" and m["body"] == "psst")
    b.send_message(mto=room + "/alice", mbody="psst", mtype="chat")
    result["private_from"] = str((await private.wait(t, "the private message at A"))["from"])
    reply = await xmpptest.send_iq(a, "get", args.service, ET.Element("{%s}query" % DISCO_ITEMS), t)
    result["rooms"] = [i.get("jid") for i in reply.xml.iter("{%s}item" % DISCO_ITEMS)]


async def archive(a, room, result, t):
    found = []

    def on_message(m):
        r = m.xml.find("{%s}result" % MAM)
        if r is not None and r.get("queryid") == "muc1":
            body = r.find("{%s}forwarded/{jabber:client}message/{jabber:client}body" % FORWARD)
            found.append(body.text if body is not None else None)

    # slixmpp raises "message" only for messages with a body; MAM results have none.
    a.register_handler(Callback("mam result", MatchXPath("{jabber:client}message/{%s}result" % MAM), on_message))
    query = ET.Element("{%s}query" % MAM, {"queryid": "muc1"})
    reply = await xmpptest.send_iq(a, "set", room, query, t)
    result["mam"] = {"type": reply["type"], "complete": reply.xml.find("{%s}fin" % MAM) is not None,
                     "bodies": found}


class PresenceError:
    """The next presence error, as XML, taken out before slixmpp's own handlers: those
    build a JID object from 'from', fail on an over-long address and drop the connection."""

    def __init__(self, client):
        self._client = client
        self._future = asyncio.get_event_loop().create_future()
        client.add_filter("in", self._capture)

    def _capture(self, stanza):
        xml = stanza.xml
        if xml.tag == "{jabber:client}presence" and xml.get("type") == "error":
            if not self._future.done():
                self._future.set_result(stanza)
            return None
        return stanza

    async def condition(self, t, what):
        try:
            return xmpptest.condition(await asyncio.wait_for(self._future, t))
        except asyncio.TimeoutError:
            raise xmpptest.ScenarioFailure("timed out waiting for " + what)
        finally:
            self._client.del_filter("in", self._capture)




async def abuse(d, a, b, args, room, result, t):
    error = PresenceError(d)
    join(d, room + "/alice")
    result["nick_conflict"] = await error.condition(t, "the nick conflict error")
    # Raw: slixmpp's JID class refuses to build these addresses itself (RFC 7622 §3.4: at most 1023 bytes).
    error = PresenceError(d)
    d.send_raw("<presence to='%s/%s'><x xmlns='%s'/></presence>" % (room, "n" * 1100, MUC))
    result["long_nick"] = await error.condition(t, "the over-long nick error")
    error = PresenceError(d)
    d.send_raw("<presence to='bad&quot;room@%s/mallory'><x xmlns='%s'/></presence>" % (args.service, MUC))
    result["bad_room"] = await error.condition(t, "the bad room name error")
    after = groupchat(a, room, "still here")
    b.send_message(mto=room, mbody="still here", mtype="groupchat")
    result["after_abuse_from"] = str((await after.wait(t, "B's groupchat after the abuse"))["from"])


async def scenario(args, result):
    t = args.step_timeout
    room = "tavern@" + args.service
    clients = [xmpptest.Client(jid, password) for jid, password in
               ((args.jid1, args.password1), (args.jid2, args.password2),
                (args.jid3, args.password3), (args.jid4, args.password4))]
    a, b, c, d = clients
    try:
        for client in clients:
            await xmpptest.open_session(args, client)
        await create_room(a, args, room, result, t)
        await converse(a, b, c, args, room, result, t)
        await archive(a, room, result, t)
        await abuse(d, a, b, args, room, result, t)
    finally:
        for client in clients:
            await xmpptest.close(client)


if __name__ == "__main__":
    p = xmpptest.parser(__doc__)
    for n in "1234":
        p.add_argument("--jid" + n, required=True)
        p.add_argument("--password" + n, required=True)
    p.add_argument("--service", required=True)
    raise SystemExit(xmpptest.run(scenario, p.parse_args()))
