#!/usr/bin/python3
"""Two users on two servers (RFC 6120 server-to-server) exchange stanzas.

A logs in on --port (its server), B on --port2 (the other server). Steps
(--steps, comma separated, run in this order):
  chat       a message each way, with exact from/to/body checks
  ping       each pings the other's server domain (XEP-0199) and gets a result
  disco      each asks the other's server domain for disco#info (XEP-0030)
  subscribe  mutual presence subscription; both rosters end with 'both'
  presence   (implies subscribe) each sees the other's presence, A sees B leave
  burst      A sends --count numbered messages to B; B must get all, in order
  bounce     A sends a message to --unreachable; the error's condition and
             how long it took are reported (bounce_condition, bounce_seconds)
"""

import argparse
import time

import slixmpp

import contacts
import xmpptest

ORDER = ["chat", "ping", "disco", "burst", "bounce", "subscribe", "presence"]


async def chat(args, result, a, b):
    await contacts.chat(args, result, a, b)


async def ping_one(client, domain, timeout):
    iq = client.Iq()
    iq["type"] = "get"
    iq["to"] = domain
    iq.append(slixmpp.xmlstream.ET.Element("{urn:xmpp:ping}ping"))
    reply = await iq.send(timeout=timeout)
    return reply["type"]


async def ping(args, result, a, b):
    t = args.step_timeout
    result["a_pinged_b_server"] = await ping_one(a, b.boundjid.domain, t)
    result["b_pinged_a_server"] = await ping_one(b, a.boundjid.domain, t)


async def disco_one(client, domain, timeout):
    iq = client.Iq()
    iq["type"] = "get"
    iq["to"] = domain
    iq.append(slixmpp.xmlstream.ET.Element("{http://jabber.org/protocol/disco#info}query"))
    reply = await iq.send(timeout=timeout)
    ids = reply.xml.findall("{http://jabber.org/protocol/disco#info}query/{http://jabber.org/protocol/disco#info}identity")
    feats = reply.xml.findall("{http://jabber.org/protocol/disco#info}query/{http://jabber.org/protocol/disco#info}feature")
    return {"from": str(reply["from"]), "identities": [(i.get("category"), i.get("type")) for i in ids],
            "features": sorted(f.get("var") for f in feats)}


async def disco(args, result, a, b):
    t = args.step_timeout
    result["a_disco_b_server"] = await disco_one(a, b.boundjid.domain, t)
    result["b_disco_a_server"] = await disco_one(b, a.boundjid.domain, t)


async def burst(args, result, a, b):
    """With --resent-ok, a message may arrive twice (re-sent after a cut connection,
    XEP-0198 on s2s); every one must still arrive."""
    bodies = ["burst %d" % i for i in range(args.count)]
    got = []
    distinct = set()

    def arrived(m):
        if not m["body"].startswith("burst "):
            return False
        got.append(m["body"])
        distinct.add(m["body"])
        return len(distinct) == len(bodies)

    done = xmpptest.Waiter(b, "message", arrived)
    for body in bodies:
        a.send_message(mto=b.boundjid.bare, mbody=body, mtype="chat")
    await done.wait(args.step_timeout * 3, "all %d burst messages at B (got %d)" % (len(bodies), len(distinct)))
    result["burst_received"] = len(distinct)
    result["burst_duplicates"] = len(got) - len(distinct)
    if not args.resent_ok:
        xmpptest.expect(result, got == bodies, "burst arrived out of order or twice")


async def bounce(args, result, a, b):
    target = "nobody@" + args.unreachable
    errors = xmpptest.Waiter(a, "message_error", lambda m: m["from"].bare == target)
    started = time.monotonic()
    a.send_message(mto=target, mbody="into the void", mtype="chat")
    m = await errors.wait(args.bounce_wait, "the bounce from " + args.unreachable)
    result["bounce_seconds"] = round(time.monotonic() - started, 2)
    result["bounce_condition"] = m["error"]["condition"]
    result["bounce_type"] = m["error"]["type"]


async def scenario(args, result):
    steps = [s for s in args.steps.split(",") if s]
    if "presence" in steps and "subscribe" not in steps:
        steps.append("subscribe")
    a = xmpptest.Client(args.jid1, args.password1)
    b = xmpptest.Client(args.jid2, args.password2)
    try:
        await xmpptest.open_session(args, a)
        await xmpptest.open_session(argparse.Namespace(**{**vars(args), "port": args.port2}), b)
        result["a_jid"] = str(a.boundjid)
        result["b_jid"] = str(b.boundjid)
        for name in sorted(steps, key=ORDER.index):
            step = {"chat": chat, "ping": ping, "disco": disco, "burst": burst, "bounce": bounce,
                    "subscribe": contacts.subscribe, "presence": contacts.presence}[name]
            await step(args, result, a, b)
            result.setdefault("steps_done", []).append(name)
    finally:
        await xmpptest.close(a)
        await xmpptest.close(b)


if __name__ == "__main__":
    p = xmpptest.two_client_parser(__doc__)
    p.add_argument("--port2", type=int, required=True, help="c2s port of B's server")
    p.add_argument("--steps", default="chat,ping,disco,subscribe,presence")
    p.add_argument("--count", type=int, default=50)
    p.add_argument("--resent-ok", action="store_true", help="burst: a message may arrive twice")
    p.add_argument("--unreachable", default="unreachable.localhost")
    p.add_argument("--bounce-wait", type=float, default=20.0)
    raise SystemExit(xmpptest.run(scenario, p.parse_args()))
