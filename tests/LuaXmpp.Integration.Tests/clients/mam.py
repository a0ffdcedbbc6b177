#!/usr/bin/python3
"""XEP-0313 archive scenarios driven through slixmpp's xep_0313 / xep_0441 plugins.

--scenario both-ways  A and B exchange messages; each finds both directions in
                      its archive, oldest first, chat states and no-store left out,
                      and B's copy carried a stanza-id by B.
--scenario paging     A sends many messages, then pages backwards through the
                      whole archive with RSM <before/>; `with` and time filters.
--scenario prefs      XEP-0441 preferences: a `never` JID is not archived, an
                      `always` JID is, and the stored prefs read back.
--scenario fulltext   XEP-0431: the query form lists the fulltext field; a word,
                      a prefix and a phrase, paged by slixmpp's own RSM iterator,
                      alone and with `with`; text with no word is a bad-request.
"""

import asyncio
import datetime

import slixmpp

import xmpptest

SID = "{urn:xmpp:sid:0}stanza-id"
PLUGINS = ("xep_0030", "xep_0059", "xep_0297", "xep_0313", "xep_0359", "xep_0441")


def body_of(result):
    return result["mam_result"]["forwarded"]["stanza"]["body"]


async def fetch_all(client, t, **kwargs):
    """One query with a page large enough for everything in these scenarios."""
    iq = await client["xep_0313"].retrieve(rsm={"max": 50}, timeout=t, **kwargs)
    return [body_of(m) for m in iq["mam"]["results"]], iq


async def send_all(client, to, bodies, t):
    for body in bodies:
        client.send_message(mto=to, mbody=body, mtype="chat")
    await xmpptest.round_trip(client, t)


async def both_ways(args, result, a, b, c):
    t = args.step_timeout
    got = xmpptest.Waiter(b, "message", lambda m: m["body"] == "a2b-4")
    await send_all(a, b.boundjid.bare, ["a2b-%d" % i for i in range(5)], t)
    delivered = await got.wait(t, "last message at B")
    sid = delivered.xml.find(SID)
    result["stanza_id_by"] = sid.get("by") if sid is not None else None
    result["stanza_id"] = sid.get("id") if sid is not None else None
    # A chat state alone and a no-store hint are delivered but not archived.
    state = a.Message(); state["to"] = b.boundjid.bare; state["type"] = "chat"
    state.append(slixmpp.xmlstream.ET.Element("{http://jabber.org/protocol/chatstates}composing"))
    state.send()
    hinted = a.Message(); hinted["to"] = b.boundjid.bare; hinted["type"] = "chat"; hinted["body"] = "not-stored"
    hinted.append(slixmpp.xmlstream.ET.Element("{urn:xmpp:hints}no-store"))
    hinted.send()
    await send_all(b, a.boundjid.bare, ["b2a-%d" % i for i in range(3)], t)
    await xmpptest.round_trip(a, t)
    result["a_archive"], _ = await fetch_all(a, t)
    result["b_archive"], iq = await fetch_all(b, t)
    ids = [m["mam_result"]["id"] for m in iq["mam"]["results"]]
    result["b_ids"] = ids
    xmpptest.expect(result, result["stanza_id"] in ids, "B's stanza-id is not an archive id")
    xmpptest.expect(result, result["stanza_id_by"] == b.boundjid.bare, "stanza-id by %s" % result["stanza_id_by"])
    expected = ["a2b-%d" % i for i in range(5)] + ["b2a-%d" % i for i in range(3)]
    xmpptest.expect(result, result["a_archive"] == expected, "A's archive: %s" % result["a_archive"])
    xmpptest.expect(result, result["b_archive"] == expected, "B's archive: %s" % result["b_archive"])


async def paging(args, result, a, b, c):
    t = args.step_timeout
    before_all = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)
    sent = ["m-%02d" % i for i in range(args.count)]
    await send_all(a, b.boundjid.bare, sent, t)
    await send_all(a, c.boundjid.bare, ["to-c-1", "to-c-2"], t)
    backwards = []
    async for m in a["xep_0313"].iterate(reverse=True, rsm={"max": 7}):
        backwards.append(body_of(m))
    result["backwards"] = backwards
    everything = sent + ["to-c-1", "to-c-2"]
    xmpptest.expect(result, backwards == list(reversed(everything)), "backwards: %s" % backwards)
    forwards = []
    async for m in a["xep_0313"].iterate(rsm={"max": 7}):
        forwards.append(body_of(m))
    result["forwards"] = forwards
    xmpptest.expect(result, forwards == everything, "forwards: %s" % forwards)
    with_c, _ = await fetch_all(a, t, with_jid=c.boundjid.bare)
    result["with_c"] = with_c
    xmpptest.expect(result, with_c == ["to-c-1", "to-c-2"], "with C: %s" % with_c)
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    future, _ = await fetch_all(a, t, start=later)
    past, _ = await fetch_all(a, t, end=before_all)
    window, _ = await fetch_all(a, t, start=before_all, end=later, with_jid=c.boundjid.bare)
    result["time_filters"] = [len(future), len(past), len(window)]
    xmpptest.expect(result, result["time_filters"] == [0, 0, 2], "time filters: %s" % result["time_filters"])


async def prefs(args, result, a, b, c):
    t = args.step_timeout
    p = a["xep_0441"]
    initial_default, _, _ = await p.get_preferences(timeout=t)
    result["initial_default"] = initial_default
    await p.set_preferences(default="always", always=[], never=[c.boundjid.bare], timeout=t)
    _, _, never = await p.get_preferences(timeout=t)
    result["never"] = sorted(str(j) for j in never)
    await send_all(a, c.boundjid.bare, ["secret"], t)
    await send_all(a, b.boundjid.bare, ["kept"], t)
    await p.set_preferences(default="never", always=[b.boundjid.bare], never=[], timeout=t)
    await send_all(a, c.boundjid.bare, ["also-secret"], t)
    await send_all(a, b.boundjid.bare, ["kept-too"], t)
    archive, _ = await fetch_all(a, t)
    result["archive"] = archive
    # C's archive is C's business: its default (always) keeps what it received.
    c_archive, _ = await fetch_all(c, t)
    result["c_archive"] = c_archive
    xmpptest.expect(result, result["initial_default"] == "always", "initial default %s" % result["initial_default"])
    xmpptest.expect(result, result["never"] == [c.boundjid.bare], "never list %s" % result["never"])
    xmpptest.expect(result, archive == ["kept", "kept-too"], "A's archive: %s" % archive)
    xmpptest.expect(result, c_archive == ["secret", "also-secret"], "C's archive: %s" % c_archive)


FULLTEXT = "{urn:xmpp:fulltext:0}fulltext"


async def search(client, text, **kwargs):
    """Pages (max 2) through a full-text search with slixmpp's RSM iterator: the field goes into
    the query form slixmpp builds for every page."""
    plugin = client["xep_0313"]
    build = plugin._pre_mam_retrieve

    def with_fulltext(*args, **kw):
        iq, mask = build(*args, **kw)
        iq["mam"].set_custom_field(FULLTEXT, text)
        return iq, mask

    plugin._pre_mam_retrieve = with_fulltext
    try:
        return [body_of(m) async for m in plugin.iterate(rsm={"max": 2}, **kwargs)]
    finally:
        plugin._pre_mam_retrieve = build


async def fulltext(args, result, a, b, c):
    t = args.step_timeout
    form = await a["xep_0313"].get_fields(timeout=t)
    result["fields"] = sorted(f["var"] for f in form["fields"])
    await send_all(a, b.boundjid.bare, ["The quick brown fox", "a lazy dog", "quickly away", "brown fox again"], t)
    await send_all(a, c.boundjid.bare, ["a quick fox for carol"], t)
    result["word"] = await search(a, "QUICK")
    result["prefix"] = await search(a, "quick*")
    result["phrase"] = await search(a, '"brown fox"')
    result["with_c"] = await search(a, "fox", with_jid=c.boundjid.bare)
    # One plain query (slixmpp's RSM iterator ends quietly on an error reply).
    iq, _ = a["xep_0313"]._pre_mam_retrieve()
    iq["mam"].set_custom_field(FULLTEXT, '!!! "" **')
    try:
        await iq.send(timeout=t)
        result["nothing_to_search"] = "answered"
    except slixmpp.exceptions.IqError as e:
        result["nothing_to_search"] = e.iq["error"]["condition"]
    xmpptest.expect(result, FULLTEXT in result["fields"], "fields: %s" % result["fields"])
    xmpptest.expect(result, result["word"] == ["The quick brown fox", "a quick fox for carol"], "word: %s" % result["word"])
    xmpptest.expect(result, result["prefix"] == ["The quick brown fox", "quickly away", "a quick fox for carol"], "prefix: %s" % result["prefix"])
    xmpptest.expect(result, result["phrase"] == ["The quick brown fox", "brown fox again"], "phrase: %s" % result["phrase"])
    xmpptest.expect(result, result["with_c"] == ["a quick fox for carol"], "with C: %s" % result["with_c"])
    xmpptest.expect(result, result["nothing_to_search"] == "bad-request", "no words: %s" % result["nothing_to_search"])


SCENARIOS = {"both-ways": both_ways, "paging": paging, "prefs": prefs, "fulltext": fulltext}


async def scenario(args, result):
    a = xmpptest.Client(args.jid1, args.password, plugins=PLUGINS)
    b = xmpptest.Client(args.jid2, args.password, plugins=PLUGINS)
    c = xmpptest.Client(args.jid3, args.password, plugins=PLUGINS)
    try:
        for client in (a, b, c):
            await xmpptest.open_session(args, client)
        info = await a["xep_0030"].get_info(jid=a.boundjid.bare, timeout=args.step_timeout)
        result["features"] = sorted(info["disco_info"]["features"])
        if not args.skip_disco:
            xmpptest.expect(result, "urn:xmpp:mam:2" in result["features"], "no mam:2 on the account")
        await SCENARIOS[args.scenario](args, result, a, b, c)
    finally:
        for client in (a, b, c):
            await xmpptest.close(client)


if __name__ == "__main__":
    p = xmpptest.parser(__doc__)
    p.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    p.add_argument("--jid1", required=True)
    p.add_argument("--jid2", required=True)
    p.add_argument("--jid3", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--count", type=int, default=30)
    p.add_argument("--skip-disco", action="store_true", help="record the account's disco features but do not require mam:2")
    raise SystemExit(xmpptest.run(scenario, p.parse_args()))
