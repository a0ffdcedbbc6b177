#!/usr/bin/python3
"""What a user sees from Prosody's own modules (loaded unmodified by the server).

One scenario per module (--scenario NAME). A is --jid/--password, B (when the
scenario needs a second account) --peer-jid/--peer-password. Every scenario
records what it saw in the result and fails (exit 1) when the server did not
behave as Prosody 0.12 does.
"""

import asyncio
import time

import slixmpp
from slixmpp.xmlstream import ET

import xmpptest

DELAY = "{urn:xmpp:delay}delay"
CARBONS = "urn:xmpp:carbons:2"
BLOCKING = "urn:xmpp:blocking"
CSI = "urn:xmpp:csi:0"


async def iq(client, type_, to, payload, timeout):
    """Sends an iq with one payload element; returns (type, reply element)."""
    reply = await xmpptest.send_iq(client, type_, to, payload, timeout)
    return reply["type"], reply


def element(tag, attrs=None, text=None, children=()):
    e = ET.Element(tag, attrs or {})
    if text is not None:
        e.text = text
    for child in children:
        e.append(child)
    return e


def error_condition(reply):
    err = reply.xml.find("{jabber:client}error")
    if err is None:
        return None
    for child in err:
        if child.tag.endswith("}text"):
            continue
        return child.tag.split("}")[-1]
    return None


async def session(args, jid, password, presence=True, priority=None, plugins=()):
    client = xmpptest.Client(jid, password, plugins=plugins)
    await xmpptest.open_session(args, client, presence=presence, priority=priority)
    return client


async def ping(args, result, a):
    kind, reply = await iq(a, "get", a.boundjid.domain, element("{urn:xmpp:ping}ping"), args.step_timeout)
    result["type"] = kind
    result["from"] = str(reply["from"])
    xmpptest.expect(result, kind == "result", "ping answered %s" % kind)


async def query_children(a, to, tag, timeout):
    kind, reply = await iq(a, "get", to, element(tag), timeout)
    q = reply.xml.find(tag)
    children = {} if q is None else {c.tag.split("}")[-1]: c.text for c in q}
    return kind, reply, q, children


async def time_(args, result, a):
    kind, _, _, children = await query_children(a, a.boundjid.domain, "{urn:xmpp:time}time", args.step_timeout)
    result["type"] = kind
    result["time"] = children
    xmpptest.expect(result, kind == "result", "time answered %s" % kind)


async def version(args, result, a):
    kind, _, _, children = await query_children(a, a.boundjid.domain, "{jabber:iq:version}query", args.step_timeout)
    result["type"] = kind
    result["version"] = children
    xmpptest.expect(result, kind == "result", "version answered %s" % kind)


async def uptime(args, result, a):
    kind, _, q, _ = await iq_last(a, a.boundjid.domain, args.step_timeout)
    result["type"] = kind
    result["seconds"] = q.get("seconds") if q is not None else None
    xmpptest.expect(result, kind == "result", "uptime answered %s" % kind)


async def iq_last(client, to, timeout):
    return await query_children(client, to, "{jabber:iq:last}query", timeout)


async def subscribe(requester, contact, t):
    """requester subscribes to contact's presence; contact approves (RFC 6121 §3)."""
    asked = xmpptest.Waiter(contact, "presence_subscribe", lambda p: p["from"].bare == requester.boundjid.bare)
    approved = xmpptest.Waiter(requester, "presence_subscribed", lambda p: p["from"].bare == contact.boundjid.bare)
    requester.send_presence(pto=contact.boundjid.bare, ptype="subscribe")
    await asked.wait(t, "subscribe request")
    contact.send_presence(pto=requester.boundjid.bare, ptype="subscribed")
    await approved.wait(t, "subscription approval")


async def lastactivity(args, result, a):
    t = args.step_timeout
    b = await session(args, args.peer_jid, args.peer_password)
    try:
        kind, reply, _, _ = await iq_last(a, b.boundjid.bare, t)
        result["stranger"] = {"type": kind, "condition": error_condition(reply)}
        await subscribe(a, b, t)
        # B leaves with a status (XEP-0012 §5: the status of the last unavailable presence).
        b.send_presence(ptype="unavailable", pstatus="gone fishing")
        await xmpptest.round_trip(b, t)
        await xmpptest.close(b)
        kind, _, q, _ = await iq_last(a, b.boundjid.bare, t)
        result["contact"] = {"type": kind, "seconds": q.get("seconds") if q is not None else None,
                             "text": q.text if q is not None else None}
        xmpptest.expect(result, result["stranger"]["condition"] == "forbidden",
                        "a stranger got %s" % result["stranger"])
        xmpptest.expect(result, kind == "result", "the contact's query answered %s" % kind)
    finally:
        await xmpptest.close(b)


async def private(args, result, a):
    t = args.step_timeout
    stored = element("{jabber:iq:private}query", children=[
        element("{luaxmpp:test}prefs", {"colour": "green"}, children=[element("{luaxmpp:test}item", text="one")])])
    kind, _ = await iq(a, "set", None, stored, t)
    result["set"] = kind
    await xmpptest.close(a)
    # A new session reads it back: the data is stored, not kept on the session.
    a2 = await session(args, args.jid, args.password)
    try:
        kind, reply = await iq(a2, "get", None, element("{jabber:iq:private}query", children=[element("{luaxmpp:test}prefs")]), t)
        result["get"] = kind
        prefs = reply.xml.find("{jabber:iq:private}query/{luaxmpp:test}prefs")
        result["colour"] = prefs.get("colour") if prefs is not None else None
        item = prefs.find("{luaxmpp:test}item") if prefs is not None else None
        result["item"] = item.text if item is not None else None
        kind, reply = await iq(a2, "get", None, element("{jabber:iq:private}query", children=[element("{luaxmpp:test}none")]), t)
        result["missing"] = kind
        empty = reply.xml.find("{jabber:iq:private}query/{luaxmpp:test}none")
        result["missing_echoed"] = empty is not None and len(empty) == 0
        xmpptest.expect(result, result["set"] == "result", "set answered %s" % result["set"])
        xmpptest.expect(result, result["colour"] == "green" and result["item"] == "one",
                        "read back %s/%s" % (result["colour"], result["item"]))
    finally:
        await xmpptest.close(a2)


async def motd(args, result, a):
    # open_session sent initial presence already; the motd may have arrived meanwhile.
    pass


async def blocklist(args, result, a):
    t = args.step_timeout
    b = await session(args, args.peer_jid, args.peer_password)
    try:
        bare_b = b.boundjid.bare
        kind, _ = await iq(a, "set", None, element("{%s}block" % BLOCKING, children=[element("{%s}item" % BLOCKING, {"jid": bare_b})]), t)
        result["block"] = kind
        kind, reply = await iq(a, "get", None, element("{%s}blocklist" % BLOCKING), t)
        result["list_after_block"] = [i.get("jid") for i in reply.xml.iter("{%s}item" % BLOCKING)]

        got = xmpptest.Waiter(a, "message", lambda m: m["from"].bare == bare_b)
        bounced = xmpptest.Waiter(b, "message_error", lambda m: True)
        b.send_message(mto=a.boundjid.full, mbody="blocked one", mtype="chat")
        await xmpptest.round_trip(b, t)
        await xmpptest.round_trip(a, t)
        try:
            await bounced.wait(3, "an error for the blocked message")
        except xmpptest.ScenarioFailure:
            pass
        result["delivered_while_blocked"] = [m for m in got.seen]
        result["sender_errors"] = len(bounced.seen)

        kind, _ = await iq(a, "set", None, element("{%s}unblock" % BLOCKING, children=[element("{%s}item" % BLOCKING, {"jid": bare_b})]), t)
        result["unblock"] = kind
        kind, reply = await iq(a, "get", None, element("{%s}blocklist" % BLOCKING), t)
        result["list_after_unblock"] = [i.get("jid") for i in reply.xml.iter("{%s}item" % BLOCKING)]
        b.send_message(mto=a.boundjid.full, mbody="welcome back", mtype="chat")
        m = await got.wait(t, "the message after unblocking")
        result["delivered_after_unblock"] = m["body"]
        xmpptest.expect(result, result["list_after_block"] == [bare_b], "blocklist %s" % result["list_after_block"])
        xmpptest.expect(result, not result["delivered_while_blocked"], "a blocked message was delivered")
        xmpptest.expect(result, result["list_after_unblock"] == [], "blocklist after unblock %s" % result["list_after_unblock"])
    finally:
        await xmpptest.close(b)


async def carbons(args, result, a):
    t = args.step_timeout
    # slixmpp hands carbons only to its XEP-0280 plugin (carbon_received / carbon_sent).
    a2 = await session(args, args.jid.split("/")[0] + "/second", args.password, plugins=("xep_0280",))
    b = await session(args, args.peer_jid, args.peer_password)
    try:
        kind, _ = await iq(a2, "set", None, element("{%s}enable" % CARBONS), t)
        result["enable"] = kind
        copy = xmpptest.Waiter(a2, "carbon_received", lambda m: True)
        sent_copy = xmpptest.Waiter(a2, "carbon_sent", lambda m: True)
        b.send_message(mto=a.boundjid.full, mbody="to the first resource", mtype="chat")
        m = await copy.wait(t, "a received carbon at the second resource")
        fwd = m.xml.find("{%s}received/{urn:xmpp:forward:0}forwarded/{jabber:client}message" % CARBONS)
        result["received_copy"] = {"from": str(m["from"]), "inner_to": fwd.get("to") if fwd is not None else None,
                                   "inner_body": fwd.findtext("{jabber:client}body") if fwd is not None else None}
        a.send_message(mto=b.boundjid.bare, mbody="from the first resource", mtype="chat")
        m = await sent_copy.wait(t, "a sent carbon at the second resource")
        fwd = m.xml.find("{%s}sent/{urn:xmpp:forward:0}forwarded/{jabber:client}message" % CARBONS)
        result["sent_copy"] = {"inner_body": fwd.findtext("{jabber:client}body") if fwd is not None else None}
        kind, _ = await iq(a2, "set", None, element("{%s}disable" % CARBONS), t)
        result["disable"] = kind
        xmpptest.expect(result, result["enable"] == "result", "enable answered %s" % result["enable"])
        xmpptest.expect(result, result["received_copy"]["inner_body"] == "to the first resource",
                        "received copy %s" % result["received_copy"])
    finally:
        await xmpptest.close(a2)
        await xmpptest.close(b)


def forwarded_body(m, kind):
    fwd = m.xml.find("{%s}%s/{urn:xmpp:forward:0}forwarded/{jabber:client}message" % (CARBONS, kind))
    return fwd.findtext("{jabber:client}body") if fwd is not None else None


def send_with(client, to, body, type_, *payload):
    m = client.make_message(mto=to, mbody=body, mtype=type_)
    for child in payload:
        m.append(child)
    m.send()


async def carbons_rules(args, result, a):
    """XEP-0280 §6 as Prosody 0.12 applies it: which messages are copied to a second resource."""
    t = args.step_timeout
    a2 = await session(args, args.jid.split("/")[0] + "/second", args.password, plugins=("xep_0280",))
    b = await session(args, args.peer_jid, args.peer_password)
    try:
        kind, _ = await iq(a2, "set", None, element("{%s}enable" % CARBONS), t)
        result["enable"] = kind
        received, sent = [], []
        a2.add_event_handler("carbon_received", lambda m: received.append(forwarded_body(m, "received")))
        a2.add_event_handler("carbon_sent", lambda m: sent.append(forwarded_body(m, "sent")))
        marker = xmpptest.Waiter(a2, "carbon_received", lambda m: forwarded_body(m, "received") == "marker")
        at_a = xmpptest.Waiter(a, "message", lambda m: m["body"] == "marker")
        full = a.boundjid.full
        # One sender's messages are handled in order, so the marker's copy comes after any other.
        send_with(b, full, "private", "chat", element("{%s}private" % CARBONS))
        send_with(b, full, "no-copy", "chat", element("{urn:xmpp:hints}no-copy"))
        send_with(b, full, "headline", "headline")
        send_with(b, full, "normal with body", "normal")
        send_with(b, full, "marker", "chat")
        await marker.wait(t, "the carbon of the marker")
        await at_a.wait(t, "the marker at the first resource")
        result["received_carbons"] = received
        private = [ET.fromstring(x) for x in at_a.seen if ">private<" in x]
        result["private_delivered"] = len(private)
        result["private_hint_left"] = any(p.find("{%s}private" % CARBONS) is not None for p in private)
        sent_marker = xmpptest.Waiter(a2, "carbon_sent", lambda m: forwarded_body(m, "sent") == "sent marker")
        send_with(a, b.boundjid.bare, "sent private", "chat", element("{%s}private" % CARBONS))
        send_with(a, b.boundjid.bare, "sent marker", "chat")
        await sent_marker.wait(t, "the sent carbon")
        result["sent_carbons"] = sent
    finally:
        await xmpptest.close(a2)
        await xmpptest.close(b)


async def blocklist_rules(args, result, a):
    """XEP-0191 as Prosody 0.12's mod_blocklist applies it: pushes, bounces and silent drops."""
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath
    t = args.step_timeout
    a2 = await session(args, args.jid.split("/")[0] + "/second", args.password)
    b = await session(args, args.peer_jid, args.peer_password)
    try:
        bare_b = b.boundjid.bare
        pushes = []
        got_push = asyncio.get_event_loop().create_future()

        def on_push(stanza):
            action = stanza.xml[0] if len(stanza.xml) else None
            if action is None:
                return
            pushes.append([action.tag.split("}")[-1], [i.get("jid") for i in action]])
            stanza.reply().send()
            if not got_push.done():
                got_push.set_result(True)
        for name in ("block", "unblock"):
            a2.register_handler(Callback("push " + name, MatchXPath("{jabber:client}iq/{%s}%s" % (BLOCKING, name)), on_push))
        await iq(a2, "get", None, element("{%s}blocklist" % BLOCKING), t)  # asks for pushes

        kind, _ = await iq(a, "set", None, element("{%s}block" % BLOCKING, children=[element("{%s}item" % BLOCKING, {"jid": bare_b})]), t)
        result["block"] = kind
        await asyncio.wait_for(got_push, t)
        errors_at_b = xmpptest.Waiter(b, "message_error", lambda m: True)
        send_with(b, a.boundjid.bare, "to the bare jid", "chat")
        m = await errors_at_b.wait(t, "the bounce of a message to the bare JID")
        result["bare_bounce"] = error_condition(m)
        # To an online full JID chat is dropped without an error (Prosody issue #690), headlines too.
        delivered = xmpptest.Waiter(a, "message", lambda m: False)
        send_with(b, a.boundjid.full, "to the full jid", "chat")
        send_with(b, a.boundjid.full, "a headline", "headline")
        await xmpptest.round_trip(b, t)
        result["errors_at_b"] = len(errors_at_b.seen)
        errors_at_a = xmpptest.Waiter(a, "message_error", lambda m: True)
        send_with(a, bare_b, "to someone I block", "chat")
        m = await errors_at_a.wait(t, "the error for a message to a blocked JID")
        result["outgoing_error"] = error_condition(m)
        result["outgoing_blocked_child"] = m.xml.find("{jabber:client}error/{urn:xmpp:blocking:errors}blocked") is not None
        result["delivered_while_blocked"] = len([x for x in delivered.seen if "to the " in x or "headline" in x])

        kind, _ = await iq(a, "set", None, element("{%s}unblock" % BLOCKING), t)  # no items: everyone
        result["unblock_all"] = kind
        kind, reply = await iq(a, "get", None, element("{%s}blocklist" % BLOCKING), t)
        result["list_after_unblock"] = [i.get("jid") for i in reply.xml.iter("{%s}item" % BLOCKING)]
        at_a = xmpptest.Waiter(a, "message", lambda m: m["body"] == "after")
        send_with(b, a.boundjid.full, "after", "chat")
        result["delivered_after"] = (await at_a.wait(t, "the message after unblocking"))["body"]
        await xmpptest.round_trip(a2, t)
        result["pushes"] = pushes
    finally:
        await xmpptest.close(a2)
        await xmpptest.close(b)


async def csi(args, result, a):
    t = args.step_timeout
    result["csi_feature"] = any("{%s}csi" % CSI in f for f in a.stream_features)
    a.send_raw("<inactive xmlns='%s'/>" % CSI)
    await xmpptest.round_trip(a, t)
    a.send_raw("<active xmlns='%s'/>" % CSI)
    await xmpptest.round_trip(a, t)
    kind, _ = await iq(a, "get", a.boundjid.domain, element("{urn:xmpp:ping}ping"), t)
    result["still_connected"] = kind == "result"
    xmpptest.expect(result, result["csi_feature"], "no <csi/> stream feature in %s" % a.stream_features)
    xmpptest.expect(result, result["still_connected"], "the stream did not survive inactive/active")


async def offline(args, result, a):
    t = args.step_timeout
    body = "while you were away"
    a.send_message(mto=args.peer_jid, mbody=body, mtype="chat")
    await xmpptest.round_trip(a, t)
    b = xmpptest.Client(args.peer_jid, args.peer_password)
    at_b = xmpptest.Waiter(b, "message", lambda m: m["body"] == body)
    try:
        await xmpptest.open_session(args, b)
        m = await at_b.wait(t, "the offline message")
        delay = m.xml.find(DELAY)
        result["received"] = {"from": str(m["from"]), "body": m["body"],
                              "delay_from": delay.get("from") if delay is not None else None,
                              "delay_stamp": delay.get("stamp") if delay is not None else None}
    finally:
        await xmpptest.close(b)
    # Delivered once: a second login gets nothing more.
    b2 = xmpptest.Client(args.peer_jid, args.peer_password)
    again = xmpptest.Waiter(b2, "message", lambda m: m["body"] == body)
    try:
        await xmpptest.open_session(args, b2)
        await xmpptest.round_trip(b2, t)
        result["redelivered"] = again.future.done()
    finally:
        await xmpptest.close(b2)


async def disco(args, result, a):
    tag = "{http://jabber.org/protocol/disco#info}query"
    kind, reply = await iq(a, "get", a.boundjid.domain, element(tag), args.step_timeout)
    q = reply.xml.find(tag)
    result["type"] = kind
    result["identities"] = [{"category": i.get("category"), "type": i.get("type"), "name": i.get("name")}
                            for i in q.findall("{http://jabber.org/protocol/disco#info}identity")] if q is not None else []
    result["features"] = [f.get("var") for f in q.findall("{http://jabber.org/protocol/disco#info}feature")] if q is not None else []
    kind, reply = await iq(a, "get", a.boundjid.bare, element(tag), args.step_timeout)
    q = reply.xml.find(tag)
    result["account_type"] = kind
    result["account_identities"] = [{"category": i.get("category"), "type": i.get("type")}
                                    for i in q.findall("{http://jabber.org/protocol/disco#info}identity")] if q is not None else []
    result["stream_features"] = a.stream_features


SCENARIOS = {
    "ping": ping, "time": time_, "version": version, "uptime": uptime, "lastactivity": lastactivity,
    "private": private, "motd": motd, "blocklist": blocklist, "carbons": carbons, "csi_simple": csi,
    "offline": offline, "disco": disco, "welcome": motd,
    "carbons_rules": carbons_rules, "blocklist_rules": blocklist_rules,
}


def register_in_band(client, result, timeout):
    """XEP-0077 §3.1 registration on the first stream, before authentication."""
    client._always_send_everything = True  # slixmpp would hold pre-session IQs back

    async def on_register(_form):
        request = client.Iq()
        request["type"] = "set"
        request["register"]["username"] = client.boundjid.user
        request["register"]["password"] = client.password
        try:
            await request.send(timeout=timeout)
            result["registration"] = "ok"
        except slixmpp.exceptions.IqError as err:
            result["registration"] = err.iq["error"]["condition"]

    client.add_event_handler("register", on_register)


async def scenario(args, result):
    plugins = ("xep_0030", "xep_0004", "xep_0066", "xep_0077") if args.scenario == "welcome" else ()
    a = xmpptest.Client(args.jid, args.password, plugins=plugins)
    if args.scenario == "welcome":
        register_in_band(a, result, args.step_timeout)
    messages = xmpptest.Waiter(a, "message", lambda m: m["body"] != "" and m["from"].bare == a.boundjid.domain)
    started = time.monotonic()
    try:
        await xmpptest.open_session(args, a)
        await SCENARIOS[args.scenario](args, result, a)
        if args.expect_server_message:
            m = await messages.wait(args.step_timeout, "a message from the server")
            result["server_message"] = {"from": str(m["from"]), "to": str(m["to"]), "body": m["body"],
                                        "type": m["type"]}
    finally:
        result["elapsed"] = round(time.monotonic() - started, 3)
        await xmpptest.close(a)


if __name__ == "__main__":
    p = xmpptest.scenario_parser(__doc__, SCENARIOS)
    p.add_argument("--expect-server-message", action="store_true",
                   help="wait for a message whose sender is the server (motd, welcome)")
    raise SystemExit(xmpptest.run(scenario, p.parse_args()))
