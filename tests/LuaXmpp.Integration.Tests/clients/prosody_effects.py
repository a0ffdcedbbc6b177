#!/usr/bin/python3
"""What a user sees from Prosody modules whose effect needs the server core (not just events):
CSI write holding (mod_csi_simple), bandwidth limits (mod_limits), the XEP-0157 disco form
(mod_server_contact_info), push notifications while a stream-managed session hibernates
(mod_cloud_notify), and the stream's xml:lang on stanzas (RFC 6120 §8.1.5).

One scenario per run (--scenario NAME). A is --jid/--password, B --peer-jid/--peer-password,
the push service's account --push-jid/--push-password. Prints one JSON result; exit 1 when the
server did not behave as Prosody 0.12 does.
"""

import asyncio
import time

from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

import xmpptest
from prosody_modules import DELAY, CSI, iq, element, subscribe

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DISCO_INFO = "{http://jabber.org/protocol/disco#info}query"
DATA = "jabber:x:data"
PUBSUB = "http://jabber.org/protocol/pubsub"
PUSH = "urn:xmpp:push:0"


def client(jid, password, smacks=False, lang="en"):
    c = xmpptest.Client(jid, password, lang=lang)
    if smacks:
        # No ack requests of its own: an <a/> from the server is important to mod_csi_simple and
        # would flush what it holds; the scenario asks for acks when it means to.
        c.register_plugin("xep_0198", pconfig={"window": 0})
    return c


async def start(args, jid, password, **kwargs):
    c = client(jid, password, **kwargs)
    enabled = xmpptest.event_future(c, "sm_enabled") if kwargs.get("smacks") else None
    await xmpptest.open_session(args, c)
    if enabled is not None:
        await asyncio.wait_for(enabled, args.step_timeout)
    return c


async def csi(args, result):
    """B's presence is held while A is inactive (stamped with a delay from A's own JID, as
    mod_csi_simple does), then flushed in order: by a message with a body, by <active/>, and by
    anything the client sends."""
    t = args.step_timeout
    a = await start(args, args.jid, args.password, smacks=args.smacks)
    b = await start(args, args.peer_jid, args.peer_password)
    seen = []
    a.add_event_handler("presence", lambda p: seen.append("presence:" + (p["status"] or "")))
    a.add_event_handler("message", lambda m: seen.append("message:" + m["body"]))
    try:
        first = xmpptest.Waiter(a, "presence_available", lambda p: p["from"].bare == b.boundjid.bare)
        await subscribe(a, b, t)
        await first.wait(t, "B's presence after subscribing")

        async def hold_then_flush(phase, flush):
            marker = "inactive now (%s)" % phase
            at_b = xmpptest.Waiter(b, "message", lambda m: m["body"] == marker)
            a.send_raw("<inactive xmlns='%s'/>" % CSI)
            # A's stanzas are handled in order: when B has this, A's <inactive/> was handled.
            a.send_message(mto=b.boundjid.bare, mbody=marker, mtype="chat")
            await at_b.wait(t, "A's marker message")
            status = "status " + phase
            held = xmpptest.Waiter(a, "presence", lambda p: p["from"].bare == b.boundjid.bare and p["status"] == status)
            b.send_presence(pstatus=status)
            await xmpptest.round_trip(b, t)
            # Not held, it would be on A's socket by now.
            await asyncio.sleep(0.5)
            early = held.future.done()
            flush()
            p = await held.wait(t, "the held presence after the flush")
            delay = p.xml.find(DELAY)
            return {"early": early, "delay_from": delay.get("from") if delay is not None else None}

        flushed = xmpptest.Waiter(a, "message", lambda m: m["body"] == "wake up")
        result["by_message"] = await hold_then_flush(
            "one", lambda: b.send_message(mto=a.boundjid.full, mbody="wake up", mtype="chat"))
        await flushed.wait(t, "the flushing message")
        result["order"] = [s for s in seen if s in ("presence:status one", "message:wake up")]
        result["by_active"] = await hold_then_flush("two", lambda: a.send_raw("<active xmlns='%s'/>" % CSI))
        # Any client activity flushes too (mod_csi_simple's bytes/in filter).
        result["by_activity"] = await hold_then_flush(
            "three", lambda: a.send_message(mto=b.boundjid.bare, mbody="back again", mtype="chat"))
        if args.smacks:
            sm = a["xep_0198"]
            sent = sm.seq
            sm.request_ack()
            await xmpptest.round_trip(a, t)
            result["acked"] = sm.last_ack
            result["sent"] = sent
            xmpptest.expect(result, sm.last_ack == sent, "server acked %s of %s stanzas" % (sm.last_ack, sent))
        await xmpptest.round_trip(a, t)
        result["still_connected"] = True
        own = a.boundjid.bare
        for phase in ("by_message", "by_active", "by_activity"):
            xmpptest.expect(result, not result[phase]["early"], "%s: the presence was not held" % phase)
            xmpptest.expect(result, result[phase]["delay_from"] == own,
                            "%s: no delay stamp from %s: %s" % (phase, own, result[phase]))
        xmpptest.expect(result, result["order"] == ["presence:status one", "message:wake up"],
                        "flush order %s" % result["order"])
    finally:
        await xmpptest.close(b)
        await xmpptest.close(a)


async def limits(args, result):
    """A floods B with --flood-bytes at the configured limit; B's own ping stays quick."""
    t = args.step_timeout
    a = await start(args, args.jid, args.password)
    b = await start(args, args.peer_jid, args.peer_password)
    count = max(1, args.flood_bytes // 1000)
    filler = "x" * 1000
    got = set()
    done = asyncio.get_event_loop().create_future()

    def on_message(m):
        if m["from"].bare == a.boundjid.bare and m["body"].endswith(filler):
            got.add(m["body"].split(":")[0])
            if len(got) == count and not done.done():
                done.set_result(time.monotonic())

    b.add_event_handler("message", on_message)
    try:
        started = time.monotonic()
        for i in range(count):
            a.send_message(mto=b.boundjid.full, mbody="%d:%s" % (i, filler), mtype="chat")
        await asyncio.sleep(1.0)
        ping_started = time.monotonic()
        await xmpptest.round_trip(b, t)
        result["peer_ping_seconds"] = round(time.monotonic() - ping_started, 3)
        result["flood_done_at_ping"] = done.done()
        try:
            finished = await asyncio.wait_for(asyncio.shield(done), t)
        except asyncio.TimeoutError:
            raise xmpptest.ScenarioFailure("only %d of %d flood messages arrived" % (len(got), count))
        result["flood_seconds"] = round(finished - started, 3)
        result["flood_messages"] = count
    finally:
        await xmpptest.close(b)
        await xmpptest.close(a)


async def contact_info(args, result):
    """The host's disco#info carries the XEP-0157 form (XEP-0128 extension)."""
    a = await start(args, args.jid, args.password)
    try:
        kind, reply = await iq(a, "get", a.boundjid.domain, element(DISCO_INFO), args.step_timeout)
        result["type"] = kind
        q = reply.xml.find(DISCO_INFO)
        forms = {}
        for x in (q.findall("{%s}x" % DATA) if q is not None else []):
            fields = {f.get("var"): [v.text for v in f.findall("{%s}value" % DATA)] for f in x.findall("{%s}field" % DATA)}
            forms[(fields.get("FORM_TYPE") or [""])[0]] = fields
        result["forms"] = forms
        xmpptest.expect(result, "http://jabber.org/network/serverinfo" in forms, "no serverinfo form in %s" % forms)
    finally:
        await xmpptest.close(a)


async def xml_lang(args, result):
    """A's stream says xml:lang='fr': its stanzas without xml:lang reach B stamped 'fr', one
    with its own xml:lang keeps it."""
    t = args.step_timeout
    a = await start(args, args.jid, args.password, lang="fr")
    b = await start(args, args.peer_jid, args.peer_password)
    try:
        langs = {}
        both = xmpptest.Waiter(b, "message", lambda m: m["body"] == "hallo")
        b.add_event_handler("message", lambda m: langs.setdefault(m["body"], m.xml.get(XML_LANG)))
        # Raw, so that the client library adds no xml:lang of its own.
        a.send_raw("<message to='%s' type='chat'><body>bonjour</body></message>" % b.boundjid.full)
        a.send_raw("<message to='%s' type='chat' xml:lang='de'><body>hallo</body></message>" % b.boundjid.full)
        await both.wait(t, "A's messages")
        result["langs"] = langs
        xmpptest.expect(result, langs.get("bonjour") == "fr", "unstamped message arrived with %r" % langs.get("bonjour"))
        xmpptest.expect(result, langs.get("hallo") == "de", "stamped message arrived with %r" % langs.get("hallo"))
    finally:
        await xmpptest.close(b)
        await xmpptest.close(a)


async def cloud_notify(args, result):
    """A (stream management, push enabled) loses its connection; B's message to it makes the
    server push to the app server (XEP-0357 §5); A then resumes and gets the message."""
    t = args.step_timeout
    app = await start(args, args.push_jid + "/app", args.push_password)
    pushed = asyncio.get_event_loop().create_future()
    pushes = []

    def on_push(request):
        publish = request.xml.find("{%s}pubsub/{%s}publish" % (PUBSUB, PUBSUB))
        fields = {f.get("var"): [v.text for v in f.findall("{%s}value" % DATA)]
                  for f in request.xml.iter("{%s}field" % DATA)}
        pushes.append({"from": str(request["from"]), "type": request["type"],
                       "node": publish.get("node") if publish is not None else None, "fields": fields})
        request.reply().send()
        if not pushed.done():
            pushed.set_result(True)

    app.register_handler(Callback("push", MatchXPath("{jabber:client}iq/{%s}pubsub" % PUBSUB), on_push))
    a = await start(args, args.jid, args.password, smacks=True)
    b = await start(args, args.peer_jid, args.peer_password)
    body = "while you were cut off"
    received = []
    a.add_event_handler("message", lambda m: received.append(m["body"]) if m["body"] == body else None)
    try:
        enable = ET.Element("{%s}enable" % PUSH, {"jid": app.boundjid.full, "node": "node-1"})
        kind, _ = await iq(a, "set", None, enable, t)
        result["enable"] = kind
        xmpptest.expect(result, kind == "result", "push enable answered %s" % kind)
        target = a.boundjid.full
        # The phone loses its network: no </stream:stream>, the socket just goes.
        a.abort()
        b.send_message(mto=target, mbody=body, mtype="chat")
        try:
            await asyncio.wait_for(asyncio.shield(pushed), t)
        except asyncio.TimeoutError:
            raise xmpptest.ScenarioFailure("no push arrived at the app server")
        result["pushes"] = pushes
        resumed = xmpptest.event_future(a, "session_resumed")
        rebound = xmpptest.event_future(a, "session_bind")
        a.connect((args.host, args.port), use_ssl=args.direct_tls,
                  force_starttls=not args.direct_tls, disable_starttls=args.direct_tls)
        done, _ = await asyncio.wait([resumed, rebound], timeout=t, return_when=asyncio.FIRST_COMPLETED)
        result["resumed"] = resumed in done
        xmpptest.expect(result, resumed in done, "the stream was not resumed")
        if resumed in done:
            await xmpptest.round_trip(a, t)
        result["received"] = received
        xmpptest.expect(result, received == [body], "after the resume A got %s" % received)
    finally:
        await xmpptest.close(b)
        await xmpptest.close(a)
        await xmpptest.close(app)


SCENARIOS = {"csi": csi, "limits": limits, "contact_info": contact_info, "xml_lang": xml_lang,
             "cloud_notify": cloud_notify}


async def scenario(args, result):
    started = time.monotonic()
    try:
        await SCENARIOS[args.scenario](args, result)
    finally:
        result["elapsed"] = round(time.monotonic() - started, 3)


if __name__ == "__main__":
    p = xmpptest.scenario_parser(__doc__, SCENARIOS)
    p.add_argument("--push-jid")
    p.add_argument("--push-password")
    p.add_argument("--smacks", action="store_true", help="A enables XEP-0198 stream management")
    p.add_argument("--flood-bytes", type=int, default=10_000)
    raise SystemExit(xmpptest.run(scenario, p.parse_args()))
