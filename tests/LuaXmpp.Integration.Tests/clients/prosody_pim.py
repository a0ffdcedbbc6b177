#!/usr/bin/python3
"""Prosody's mod_bookmarks, mod_vcard_legacy and mod_vcard4 (all over mod_pep) with slixmpp.

Bookmarks 2 (XEP-0402 §3): A (--jid) publishes a conference bookmark to
urn:xmpp:bookmarks:1 with the publish-options the XEP requires, fetches it back, and
reads the same bookmark through the legacy Private XML view (XEP-0049 with
XEP-0048's storage:bookmarks), which mod_bookmarks converts from PEP.

vCard (XEP-0054 / XEP-0292 / XEP-0398): A sets a vcard-temp with a name and a PHOTO,
gets it back, and reads the vCard 4 that mod_vcard_legacy published to PEP
(urn:xmpp:vcard4) and the avatar metadata (XEP-0084), then fetches its vCard 4
through mod_vcard4's iq.
"""

import base64
import hashlib

from slixmpp.xmlstream import ET

import xmpptest

PUBSUB = "http://jabber.org/protocol/pubsub"
BOOKMARKS = "urn:xmpp:bookmarks:1"
PRIVATE = "jabber:iq:private"
LEGACY = "storage:bookmarks"
DATA = "jabber:x:data"
VCARD_TEMP = "vcard-temp"
VCARD4 = "urn:ietf:params:xml:ns:vcard-4.0"
AVATAR_META = "urn:xmpp:avatar:metadata"
# A 1x1 PNG, the smallest real avatar.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")






def publish_options(options):
    x = ET.Element("{%s}x" % DATA, {"type": "submit"})
    fields = [("FORM_TYPE", PUBSUB + "#publish-options")] + list(options)
    for var, value in fields:
        field = ET.SubElement(x, "{%s}field" % DATA, {"var": var})
        if var == "FORM_TYPE":
            field.set("type", "hidden")
        ET.SubElement(field, "{%s}value" % DATA).text = value
    return x


def bookmark_publish(room):
    pubsub = ET.Element("{%s}pubsub" % PUBSUB)
    publish = ET.SubElement(pubsub, "{%s}publish" % PUBSUB, {"node": BOOKMARKS})
    item = ET.SubElement(publish, "{%s}item" % PUBSUB, {"id": room})
    conference = ET.SubElement(item, "{%s}conference" % BOOKMARKS, {"name": "The Tavern", "autojoin": "true"})
    ET.SubElement(conference, "{%s}nick" % BOOKMARKS).text = "alice"
    options = ET.SubElement(pubsub, "{%s}publish-options" % PUBSUB)
    options.append(publish_options([("pubsub#persist_items", "true"), ("pubsub#max_items", "max"),
                                    ("pubsub#send_last_published_item", "never"),
                                    ("pubsub#access_model", "whitelist")]))
    return pubsub


def items_request(node):
    pubsub = ET.Element("{%s}pubsub" % PUBSUB)
    ET.SubElement(pubsub, "{%s}items" % PUBSUB, {"node": node})
    return pubsub


async def bookmarks(a, args, result, t):
    room = "tavern@" + args.service
    reply = await xmpptest.send_iq(a, "set", None, bookmark_publish(room), t)
    result["bookmark_publish"] = reply["type"]
    reply = await xmpptest.send_iq(a, "get", None, items_request(BOOKMARKS), t)
    items = [{"id": i.get("id"),
              "name": c.get("name"), "autojoin": c.get("autojoin"),
              "nick": c.findtext("{%s}nick" % BOOKMARKS)}
             for i in reply.xml.iter("{%s}item" % PUBSUB)
             for c in i.findall("{%s}conference" % BOOKMARKS)]
    result["bookmarks"] = {"type": reply["type"], "items": items}
    query = ET.Element("{%s}query" % PRIVATE)
    ET.SubElement(query, "{%s}storage" % LEGACY)
    reply = await xmpptest.send_iq(a, "get", None, query, t)
    result["private"] = {"type": reply["type"],
                         "conferences": [{"jid": c.get("jid"), "name": c.get("name"), "autojoin": c.get("autojoin"),
                                          "nick": c.findtext("{%s}nick" % LEGACY)}
                                         for c in reply.xml.iter("{%s}conference" % LEGACY)]}


def vcard_temp():
    vcard = ET.Element("{%s}vCard" % VCARD_TEMP)
    ET.SubElement(vcard, "{%s}FN" % VCARD_TEMP).text = "Alice Liddell"
    ET.SubElement(vcard, "{%s}NICKNAME" % VCARD_TEMP).text = "alice"
    photo = ET.SubElement(vcard, "{%s}PHOTO" % VCARD_TEMP)
    ET.SubElement(photo, "{%s}TYPE" % VCARD_TEMP).text = "image/png"
    ET.SubElement(photo, "{%s}BINVAL" % VCARD_TEMP).text = base64.b64encode(PNG).decode()
    return vcard


async def vcards(a, b, result, t):
    reply = await xmpptest.send_iq(a, "set", None, vcard_temp(), t)
    result["vcard_set"] = reply["type"]
    reply = await xmpptest.send_iq(a, "get", None, ET.Element("{%s}vCard" % VCARD_TEMP), t)
    vcard = reply.xml.find("{%s}vCard" % VCARD_TEMP)
    binval = vcard.findtext("{%s}PHOTO/{%s}BINVAL" % (VCARD_TEMP, VCARD_TEMP)) if vcard is not None else None
    result["vcard_get"] = {
        "type": reply["type"],
        "fn": vcard.findtext("{%s}FN" % VCARD_TEMP) if vcard is not None else None,
        "photo_type": vcard.findtext("{%s}PHOTO/{%s}TYPE" % (VCARD_TEMP, VCARD_TEMP)) if vcard is not None else None,
        "photo_ok": binval is not None and base64.b64decode("".join(binval.split())) == PNG,
    }
    reply = await xmpptest.send_iq(a, "get", None, items_request("urn:xmpp:vcard4"), t)
    fns = [fn.findtext("{%s}text" % VCARD4) for fn in reply.xml.iter("{%s}fn" % VCARD4)]
    result["vcard4_node"] = {"type": reply["type"], "fn": fns}
    reply = await xmpptest.send_iq(a, "get", None, items_request(AVATAR_META), t)
    result["avatar_ids"] = [info.get("id") for info in reply.xml.iter("{%s}info" % AVATAR_META)]
    result["avatar_sha1"] = hashlib.sha1(PNG).hexdigest()
    # Another user reads it through XEP-0292's iq (mod_vcard4): the node is public by default.
    reply = await xmpptest.send_iq(b, "get", a.boundjid.bare, ET.Element("{%s}vcard" % VCARD4), t)
    result["vcard4_iq"] = {"type": reply["type"],
                           "fn": [fn.findtext("{%s}text" % VCARD4) for fn in reply.xml.iter("{%s}fn" % VCARD4)]}


def configure(node, options):
    owner = ET.Element("{%s}pubsub" % (PUBSUB + "#owner"))
    configure = ET.SubElement(owner, "{%s}configure" % (PUBSUB + "#owner"), {"node": node})
    x = ET.SubElement(configure, "{%s}x" % DATA, {"type": "submit"})
    for var, value in [("FORM_TYPE", PUBSUB + "#node_config")] + list(options):
        field = ET.SubElement(x, "{%s}field" % DATA, {"var": var})
        ET.SubElement(field, "{%s}value" % DATA).text = value
    return owner


def pubsub_of(*children):
    pubsub = ET.Element("{%s}pubsub" % PUBSUB)
    for child in children:
        pubsub.append(child)
    return pubsub


def element(tag, attrs=None, *children):
    e = ET.Element(tag, attrs or {})
    for child in children:
        e.append(child)
    return e


async def bad_pubsub(a, b, result, t):
    """Invalid node names and configurations (XEP-0060 §7.1.3, §8.1.3, §8.2.5, §6.5.9) get
    their errors; the other user still reads A's vCard afterwards."""
    note = "{urn:example:note}note"
    cases = {
        "create_without_node": pubsub_of(element("{%s}create" % PUBSUB)),
        "publish_without_node": pubsub_of(element("{%s}publish" % PUBSUB, {},
                                                  element("{%s}item" % PUBSUB, {}, element(note)))),
        "publish_two_payloads": pubsub_of(element("{%s}publish" % PUBSUB, {"node": "urn:example:two"},
                                                  element("{%s}item" % PUBSUB, {}, element(note), element(note)))),
        "items_of_missing_node": items_request("urn:example:missing"),
    }
    errors = {}
    for name, payload in cases.items():
        reply = await xmpptest.send_iq(a, "get" if name.startswith("items") else "set", None, payload, t)
        errors[name] = xmpptest.condition(reply) or reply["type"]
    bad_configs = {
        "config_max_items_word": [("pubsub#max_items", "banana")],
        "config_access_model_unknown": [("pubsub#access_model", "nonsense")],
    }
    for name, options in bad_configs.items():
        reply = await xmpptest.send_iq(a, "set", None, configure("urn:xmpp:vcard4", options), t)
        errors[name] = xmpptest.condition(reply) or reply["type"]
    # The bookmarks node is whitelist: publish-options asking for open are a failed precondition.
    pubsub = bookmark_publish("other@example.org")
    options = pubsub.find("{%s}publish-options" % PUBSUB)
    pubsub.remove(options)
    ET.SubElement(pubsub, "{%s}publish-options" % PUBSUB).append(
        publish_options([("pubsub#access_model", "open")]))
    reply = await xmpptest.send_iq(a, "set", None, pubsub, t)
    errors["publish_options_conflict"] = xmpptest.condition(reply) or reply["type"]
    result["bad_pubsub"] = errors
    reply = await xmpptest.send_iq(b, "get", a.boundjid.bare, ET.Element("{%s}vcard" % VCARD4), t)
    result["vcard4_after_abuse"] = reply["type"]


async def scenario(args, result):
    t = args.step_timeout
    a = xmpptest.Client(args.jid, args.password)
    b = xmpptest.Client(args.peer_jid, args.peer_password)
    try:
        await xmpptest.open_session(args, a)
        await xmpptest.open_session(args, b)
        await bookmarks(a, args, result, t)
        await vcards(a, b, result, t)
        await bad_pubsub(a, b, result, t)
    finally:
        await xmpptest.close(a)
        await xmpptest.close(b)


if __name__ == "__main__":
    p = xmpptest.peer_parser(__doc__)
    p.add_argument("--service", required=True, help="the MUC service the bookmark points at")
    raise SystemExit(xmpptest.run(scenario, p.parse_args()))
