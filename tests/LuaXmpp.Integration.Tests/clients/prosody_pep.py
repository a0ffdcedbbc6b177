#!/usr/bin/python3
"""Prosody's mod_pep (util.pubsub underneath) with two slixmpp clients.

A (--jid) publishes an OMEMO device list (XEP-0384 §4.2: node
eu.siacs.conversations.axolotl.devicelist). B (--peer-jid), a mutual contact
advertising devicelist+notify through entity capabilities
(XEP-0115, XEP-0163 §4), must receive the PEP event. B then fetches the item.
"""

from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

import xmpptest

DEVICELIST = "eu.siacs.conversations.axolotl.devicelist"
AXOLOTL = "eu.siacs.conversations.axolotl"
PUBSUB = "http://jabber.org/protocol/pubsub"
EVENT = "http://jabber.org/protocol/pubsub#event"


def devicelist_publish(device_id):
    pubsub = ET.Element("{%s}pubsub" % PUBSUB)
    publish = ET.SubElement(pubsub, "{%s}publish" % PUBSUB, {"node": DEVICELIST})
    item = ET.SubElement(publish, "{%s}item" % PUBSUB, {"id": "current"})
    lst = ET.SubElement(item, "{%s}list" % AXOLOTL)
    ET.SubElement(lst, "{%s}device" % AXOLOTL, {"id": device_id})
    return pubsub




async def subscribe(requester, contact, t):
    asked = xmpptest.Waiter(contact, "presence_subscribe", lambda p: p["from"].bare == requester.boundjid.bare)
    approved = xmpptest.Waiter(requester, "presence_subscribed", lambda p: p["from"].bare == contact.boundjid.bare)
    requester.send_presence(pto=contact.boundjid.bare, ptype="subscribe")
    await asked.wait(t, "subscribe request")
    contact.send_presence(pto=requester.boundjid.bare, ptype="subscribed")
    await approved.wait(t, "subscription approval")


def event_devices(message):
    items = message.xml.find("{%s}event/{%s}items" % (EVENT, EVENT))
    if items is None or items.get("node") != DEVICELIST:
        return None
    return [d.get("id") for d in items.iter("{%s}device" % AXOLOTL)]


async def scenario(args, result):
    t = args.step_timeout
    a = xmpptest.Client(args.jid, args.password)
    b = xmpptest.Client(args.peer_jid, args.peer_password, plugins=("xep_0030", "xep_0115"))
    # slixmpp raises "message" only for messages with a body; PEP events are headlines without one.
    b.register_handler(Callback("pep event", MatchXPath("{jabber:client}message/{%s}event" % EVENT),
                                lambda m: b.event("pep_event", m)))
    event = xmpptest.Waiter(b, "pep_event", lambda m: event_devices(m) is not None)
    try:
        await xmpptest.open_session(args, a)
        await xmpptest.open_session(args, b, presence=False)
        b["xep_0030"].add_feature(DEVICELIST + "+notify")
        await b["xep_0115"].update_caps()
        b.send_presence()
        # Mutual subscription, as between real contacts: A's service learns B's caps from the
        # presence B sends to its subscribers (XEP-0163 §4.3).
        await subscribe(b, a, t)
        await subscribe(a, b, t)
        b.send_presence()
        await xmpptest.round_trip(b, t)
        reply = await xmpptest.send_iq(a, "set", None, devicelist_publish("12345"), t)
        result["publish"] = reply["type"]
        m = await event.wait(t, "the devicelist PEP event at the contact")
        result["event"] = {"from": str(m["from"]), "devices": event_devices(m)}
        items = ET.Element("{%s}pubsub" % PUBSUB)
        ET.SubElement(items, "{%s}items" % PUBSUB, {"node": DEVICELIST})
        reply = await xmpptest.send_iq(b, "get", a.boundjid.bare, items, t)
        result["fetch"] = {"type": reply["type"],
                           "devices": [d.get("id") for d in reply.xml.iter("{%s}device" % AXOLOTL)]}
        xmpptest.expect(result, result["publish"] == "result", "publish answered %s" % result["publish"])
        xmpptest.expect(result, result["event"]["devices"] == ["12345"], "event %s" % result["event"])
    finally:
        await xmpptest.close(a)
        await xmpptest.close(b)


if __name__ == "__main__":
    p = xmpptest.peer_parser(__doc__)
    raise SystemExit(xmpptest.run(scenario, p.parse_args()))
