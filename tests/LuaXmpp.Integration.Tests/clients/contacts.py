#!/usr/bin/python3
"""Two online users become contacts and talk (RFC 6121 §3, §4, §5).

Steps (--steps, comma separated):
  subscribe  roster add, then subscribe/subscribed both ways; both server
             rosters must end with subscription='both'
  presence   (implies subscribe) each sees the other's broadcast presence,
             and A sees B's unavailable presence when B leaves
  chat       a chat message each way, with exact from/to/body checks
"""

import asyncio
import xml.etree.ElementTree as ET

import xmpptest


def from_bare(jid):
    return lambda stanza: stanza["from"].bare == jid


async def subscribe(args, result, a, b):
    t = args.step_timeout
    # RFC 6121 §2.3.2: the client's roster set carries no subscription attribute.
    roster_set = a.Iq()
    roster_set["type"] = "set"
    query = ET.SubElement(roster_set.xml, "{jabber:iq:roster}query")
    ET.SubElement(query, "{jabber:iq:roster}item", {"jid": b.boundjid.bare, "name": "Contact B"})
    await roster_set.send(timeout=t)
    a_items = await xmpptest.roster_items(a, t)
    result["roster_after_add"] = a_items.get(b.boundjid.bare)

    await one_way(a, b, t)
    await one_way(b, a, t)

    a_items = await xmpptest.roster_items(a, t)
    b_items = await xmpptest.roster_items(b, t)
    result["a_roster_item"] = a_items.get(b.boundjid.bare)
    result["b_roster_item"] = b_items.get(a.boundjid.bare)
    for name, item in (("a", result["a_roster_item"]), ("b", result["b_roster_item"])):
        xmpptest.expect(result, item is not None and item["subscription"] == "both",
                        "%s's roster item is %r, wanted subscription both" % (name, item))


async def one_way(requester, contact, t):
    """requester asks for contact's presence; contact approves (RFC 6121 §3.1)."""
    asked = xmpptest.Waiter(contact, "presence_subscribe", from_bare(requester.boundjid.bare))
    approved = xmpptest.Waiter(requester, "presence_subscribed", from_bare(contact.boundjid.bare))
    requester.send_presence(pto=contact.boundjid.bare, ptype="subscribe")
    await asked.wait(t, "subscribe from %s" % requester.boundjid.bare)
    contact.send_presence(pto=requester.boundjid.bare, ptype="subscribed")
    await approved.wait(t, "subscribed from %s" % contact.boundjid.bare)


async def presence(args, result, a, b):
    t = args.step_timeout
    seen_b = xmpptest.Waiter(a, "presence_available",
                             lambda p: p["from"] == b.boundjid and p["status"] == "b is here")
    seen_a = xmpptest.Waiter(b, "presence_available",
                             lambda p: p["from"] == a.boundjid and p["status"] == "a is here")
    b.send_presence(pstatus="b is here")
    a.send_presence(pstatus="a is here")
    p = await seen_b.wait(t, "B's presence at A")
    result["a_saw_presence_from"] = str(p["from"])
    p = await seen_a.wait(t, "A's presence at B")
    result["b_saw_presence_from"] = str(p["from"])
    left = xmpptest.Waiter(a, "presence_unavailable", lambda p: p["from"] == b.boundjid)
    await xmpptest.close(b)
    p = await left.wait(t, "B's unavailable presence at A")
    result["a_saw_unavailable_from"] = str(p["from"])


async def chat(args, result, a, b):
    t = args.step_timeout
    body_ab = "hello B <&> \u00e9\u6f22"
    body_ba = "hello A"
    at_b = xmpptest.Waiter(b, "message", lambda m: m["body"] == body_ab)
    b_full = b.boundjid.full
    a.send_message(mto=b_full, mbody=body_ab, mtype="chat")
    m = await at_b.wait(t, "A's message at B")
    result["b_received"] = {"from": str(m["from"]), "to": str(m["to"]), "type": m["type"], "body": m["body"]}
    xmpptest.expect(result, m["from"] == a.boundjid, "from %s, wanted %s" % (m["from"], a.boundjid))
    xmpptest.expect(result, m["to"] == b.boundjid, "to %s, wanted %s" % (m["to"], b.boundjid))
    at_a = xmpptest.Waiter(a, "message", lambda m: m["body"] == body_ba)
    b.send_message(mto=a.boundjid.bare, mbody=body_ba, mtype="chat")
    m = await at_a.wait(t, "B's message at A")
    result["a_received"] = {"from": str(m["from"]), "to": str(m["to"]), "type": m["type"], "body": m["body"]}
    xmpptest.expect(result, m["from"] == b.boundjid, "from %s, wanted %s" % (m["from"], b.boundjid))


async def scenario(args, result):
    steps = [s for s in args.steps.split(",") if s]
    if "presence" in steps and "subscribe" not in steps:
        steps.insert(0, "subscribe")
    a = xmpptest.Client(args.jid1, args.password1)
    b = xmpptest.Client(args.jid2, args.password2)
    try:
        await xmpptest.open_session(args, a)
        await xmpptest.open_session(args, b)
        result["a_jid"] = str(a.boundjid)
        result["b_jid"] = str(b.boundjid)
        # chat first: the presence step ends with B offline.
        for name in sorted(steps, key=["subscribe", "chat", "presence"].index):
            await {"subscribe": subscribe, "presence": presence, "chat": chat}[name](args, result, a, b)
            result.setdefault("steps_done", []).append(name)
    finally:
        await xmpptest.close(a)
        await xmpptest.close(b)


if __name__ == "__main__":
    p = xmpptest.parser(__doc__)
    p.add_argument("--jid1", required=True)
    p.add_argument("--password1", required=True)
    p.add_argument("--jid2", required=True)
    p.add_argument("--password2", required=True)
    p.add_argument("--steps", default="subscribe,presence,chat")
    raise SystemExit(xmpptest.run(scenario, p.parse_args()))
