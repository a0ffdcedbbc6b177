#!/usr/bin/python3
"""Data one server writes, read by the other (storage = "internal" on one data_path).

--phase seed    A and B become contacts (subscription both), A sends B some
                archived chat messages, then one while B is offline. Prints
                A's archive (XEP-0313) as [id, body] pairs.
--phase read    A logs in: prints A's roster and archive. B logs in and prints
                the offline messages delivered to it.
--phase write   A adds D to its roster with a name and sends C messages.
                Prints A's archive.
Every phase logs in with the passwords given (the accounts' stored credentials).
"""

import asyncio
import xml.etree.ElementTree as ET

import slixmpp

import xmpptest

PLUGINS = ("xep_0030", "xep_0059", "xep_0297", "xep_0313", "xep_0359")


def client(args, which):
    jid, password = getattr(args, "jid" + which), getattr(args, "password" + which)
    return xmpptest.Client(jid, password, plugins=PLUGINS)


async def archive(c, t):
    """The whole archive, oldest first, paging with RSM until complete."""
    items, after = [], None
    for _ in range(20):
        rsm = {"max": 10}
        if after:
            rsm["after"] = after
        iq = await c["xep_0313"].retrieve(rsm=rsm, timeout=t)
        page = iq["mam"]["results"]
        for m in page:
            items.append([m["mam_result"]["id"], m["mam_result"]["forwarded"]["stanza"]["body"]])
        fin = iq.xml.find("{urn:xmpp:mam:2}fin")
        if not page or (fin is not None and fin.get("complete") == "true"):
            break
        after = page[-1]["mam_result"]["id"]
    return items


async def subscribe(requester, contact, t):
    asked = xmpptest.Waiter(contact, "presence_subscribe", lambda p: p["from"].bare == requester.boundjid.bare)
    approved = xmpptest.Waiter(requester, "presence_subscribed", lambda p: p["from"].bare == contact.boundjid.bare)
    requester.send_presence(pto=contact.boundjid.bare, ptype="subscribe")
    await asked.wait(t, "subscribe at %s" % contact.boundjid.bare)
    contact.send_presence(pto=requester.boundjid.bare, ptype="subscribed")
    await approved.wait(t, "subscribed at %s" % requester.boundjid.bare)


async def seed(args, result):
    t = args.step_timeout
    a, b = client(args, "1"), client(args, "2")
    try:
        await xmpptest.open_session(args, a)
        await xmpptest.open_session(args, b)
        await subscribe(a, b, t)
        await subscribe(b, a, t)
        last = xmpptest.Waiter(b, "message", lambda m: m["body"] == "archived 3")
        for i in range(1, 4):
            a.send_message(mto=b.boundjid.bare, mbody="archived %d" % i, mtype="chat")
        await last.wait(t, "the last archived message at B")
        await xmpptest.close(b)
        a.send_message(mto=b.boundjid.bare, mbody="while you were away", mtype="chat")
        await xmpptest.round_trip(a, t)
        result["archive"] = await archive(a, t)
    finally:
        await xmpptest.close(a)
        await xmpptest.close(b)


async def read(args, result):
    t = args.step_timeout
    a = client(args, "1")
    try:
        await xmpptest.open_session(args, a)
        result["roster"] = await xmpptest.roster_items(a, t)
        result["archive"] = await archive(a, t)
    finally:
        await xmpptest.close(a)
    b = client(args, "2")
    offline = []
    b.add_event_handler("message", lambda m: offline.append(m["body"]) if m["body"] else None)
    try:
        await xmpptest.open_session(args, b)
        await xmpptest.round_trip(b, t)
        await asyncio.sleep(1.0)  # offline delivery follows initial presence
        result["offline"] = offline
        result["b_roster"] = await xmpptest.roster_items(b, t)
    finally:
        await xmpptest.close(b)


async def write(args, result):
    t = args.step_timeout
    a, c = client(args, "1"), client(args, "3")
    try:
        await xmpptest.open_session(args, a)
        await xmpptest.open_session(args, c)
        roster_set = a.Iq()
        roster_set["type"] = "set"
        query = ET.SubElement(roster_set.xml, "{jabber:iq:roster}query")
        ET.SubElement(query, "{jabber:iq:roster}item", {"jid": args.jid4, "name": "Dave \u00e9"})
        await roster_set.send(timeout=t)
        last = xmpptest.Waiter(c, "message", lambda m: m["body"] == "to carol 2")
        for i in range(1, 3):
            a.send_message(mto=c.boundjid.bare, mbody="to carol %d" % i, mtype="chat")
        await last.wait(t, "the last message at C")
        await xmpptest.round_trip(a, t)
        result["archive"] = await archive(a, t)
    finally:
        await xmpptest.close(a)
        await xmpptest.close(c)


if __name__ == "__main__":
    p = xmpptest.parser(__doc__)
    p.add_argument("--phase", choices=("seed", "read", "write"), required=True)
    for n in "1234":
        p.add_argument("--jid" + n)
        p.add_argument("--password" + n)
    args = p.parse_args()
    raise SystemExit(xmpptest.run({"seed": seed, "read": read, "write": write}[args.phase], args))
