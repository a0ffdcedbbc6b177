#!/usr/bin/python3
"""What a user sees when Prosody's own mod_roster, mod_presence, mod_message, mod_offline,
mod_carbons and mod_smacks serve the accounts (loaded unmodified by the server).

alice (--jid) logs in twice (resources one and two), bob (--peer-jid) once. They subscribe
to each other; bob sends to alice's bare and full JIDs; alice/two has carbons on; alice/one
has XEP-0198 with resumption, loses its connection, and resumes. Exit 0 when everything was
delivered as Prosody 0.12 delivers it, each message once.
"""

import asyncio
import collections

import xmpptest
from prosody_modules import subscribe

CARBONS = "urn:xmpp:carbons:2"


def bodies(client, event="message"):
    """Counts message bodies a client receives (by body text)."""
    seen = collections.Counter()
    client.add_event_handler(event, lambda m: seen.update([m["body"]]) if m["body"] else None)
    return seen


def carbon_bodies(client):
    seen = collections.Counter()

    def on_carbon(m):
        fwd = m.xml.find("{%s}received/{urn:xmpp:forward:0}forwarded/{jabber:client}message" % CARBONS)
        if fwd is not None:
            seen.update([fwd.findtext("{jabber:client}body")])

    client.add_event_handler("carbon_received", on_carbon)
    return seen


async def until(predicate, timeout):
    loop = asyncio.get_event_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


async def scenario(args, result):
    t = args.step_timeout
    alice = args.jid.split("/")[0]
    a1 = xmpptest.Client(alice + "/one", args.password, plugins=["xep_0198"])
    a2 = xmpptest.Client(alice + "/two", args.password, plugins=["xep_0280"])
    b = xmpptest.Client(args.peer_jid, args.peer_password)
    got1, got2, gotb = bodies(a1), bodies(a2), bodies(b)
    carbons2 = carbon_bodies(a2)
    sm = a1["xep_0198"]
    try:
        enabled = xmpptest.event_future(a1, "sm_enabled")
        await xmpptest.open_session(args, a1)
        await asyncio.wait_for(enabled, t)
        result["sm_enabled"] = bool(sm.sm_id)
        await xmpptest.open_session(args, b)

        # Roster and presence subscription both ways (RFC 6121 §3).
        await subscribe(a1, b, t)
        await subscribe(b, a1, t)
        roster = await xmpptest.roster_items(a1, t)
        result["roster_bob"] = roster.get(b.boundjid.bare)
        roster_b = await xmpptest.roster_items(b, t)
        result["roster_alice"] = roster_b.get(alice)

        # Presence: bob sees alice's second resource come online.
        seen_two = xmpptest.Waiter(b, "presence_available", lambda p: str(p["from"]) == alice + "/two")
        await xmpptest.open_session(args, a2)
        await seen_two.wait(t, "alice/two's presence at bob")
        result["presence_seen"] = True

        kind = await a2_enable_carbons(a2, t)
        result["carbons_enable"] = kind

        # A chat message to the bare JID goes to every top resource (priority 0 both), once each,
        # and no carbon of it goes to a resource that got it itself.
        b.send_message(mto=alice, mbody="to the bare jid", mtype="chat")
        await until(lambda: got1["to the bare jid"] and got2["to the bare jid"], t)
        # A message to alice/one's full JID: only alice/one gets it; alice/two gets a carbon.
        b.send_message(mto=alice + "/one", mbody="to the full jid", mtype="chat")
        await until(lambda: got1["to the full jid"] and carbons2["to the full jid"], t)
        await xmpptest.round_trip(a2, t)
        result["bare"] = {"one": got1["to the bare jid"], "two": got2["to the bare jid"],
                          "carbons_at_two": carbons2["to the bare jid"]}
        result["full"] = {"one": got1["to the full jid"], "two": got2["to the full jid"],
                          "carbons_at_two": carbons2["to the full jid"]}
        a1.send_message(mto=b.boundjid.bare, mbody="reply", mtype="chat")
        await until(lambda: gotb["reply"], t)
        result["reply_at_bob"] = gotb["reply"]

        # XEP-0198 §4: the server's <a h/> counts every stanza alice/one sent.
        sm.request_ack()
        await until(lambda: sm.last_ack == sm.seq, t)
        result["acks"] = {"sent": sm.seq, "acked": sm.last_ack, "unacked": len(sm.unacked_queue)}

        # XEP-0198: alice/one's connection drops without a close; bob writes meanwhile.
        a1.abort()
        expected = ["while away %d" % i for i in range(3)]
        await asyncio.sleep(0.3)
        for body in expected:
            b.send_message(mto=alice + "/one", mbody=body, mtype="chat")
        await xmpptest.round_trip(b, t)
        resumed = xmpptest.event_future(a1, "session_resumed")
        rebound = xmpptest.event_future(a1, "session_bind")
        a1.connect((args.host, args.port), use_ssl=args.direct_tls,
                   force_starttls=not args.direct_tls, disable_starttls=args.direct_tls)
        done, _ = await asyncio.wait([resumed, rebound], timeout=t, return_when=asyncio.FIRST_COMPLETED)
        result["resumed"] = resumed in done
        result["rebound"] = rebound in done
        await until(lambda: all(got1[e] for e in expected), t)
        sm.request_ack()
        await asyncio.sleep(0.5)
        result["after_resume"] = {e: got1[e] for e in expected}
        # The resumed session is the same one: messages to its full JID still arrive.
        b.send_message(mto=alice + "/one", mbody="after resume", mtype="chat")
        await until(lambda: got1["after resume"], t)
        result["after_resume_delivered"] = got1["after resume"]

        xmpptest.expect(result, result["roster_bob"] and result["roster_bob"]["subscription"] == "both",
                        "alice's roster item for bob: %s" % result["roster_bob"])
        xmpptest.expect(result, result["bare"] == {"one": 1, "two": 1, "carbons_at_two": 0},
                        "bare-JID delivery %s" % result["bare"])
        xmpptest.expect(result, result["full"] == {"one": 1, "two": 0, "carbons_at_two": 1},
                        "full-JID delivery %s" % result["full"])
        xmpptest.expect(result, result["acks"]["sent"] > 0 and result["acks"]["acked"] == result["acks"]["sent"],
                        "acks %s" % result["acks"])
        xmpptest.expect(result, result["resumed"], "the stream was not resumed")
        xmpptest.expect(result, all(n == 1 for n in result["after_resume"].values()),
                        "messages while away: %s" % result["after_resume"])
        xmpptest.expect(result, result["after_resume_delivered"] == 1, "message after resume not delivered once")
    finally:
        await xmpptest.close(a2)
        await xmpptest.close(b)
        await xmpptest.close(a1)


def error_conditions(client):
    """Counts (from, condition) of message errors a client receives (an error reply carries
    no body, RFC 6120 §8.3.1)."""
    seen = collections.Counter()

    def on_error(m):
        if m["type"] == "error":
            seen.update([(str(m["from"]), m["error"]["condition"])])

    client.add_event_handler("message_error", on_error)
    return seen


async def hibernate_and_expire(args, jid, peer, body):
    """jid enables XEP-0198, loses its connection; peer sends body to it; the session expires."""
    c = xmpptest.Client(jid, args.password, plugins=["xep_0198"])
    enabled = xmpptest.event_future(c, "sm_enabled")
    await xmpptest.open_session(args, c)
    await asyncio.wait_for(enabled, args.step_timeout)
    c.abort()
    await asyncio.sleep(0.3)
    peer.send_message(mto=jid, mbody=body, mtype="chat")
    await xmpptest.round_trip(peer, args.step_timeout)
    # Past the hibernation time the session expires.
    await asyncio.sleep(args.hibernation + 2)


async def timeout(args, result):
    """A hibernating session that never comes back (XEP-0198 §5): after smacks_hibernation_time
    what was queued for it bounces to the sender when the account has another resource online,
    and goes to offline storage when it was the last one, reaching the next login once."""
    t = args.step_timeout
    alice = args.jid.split("/")[0]
    b = xmpptest.Client(args.peer_jid, args.peer_password)
    errors = error_conditions(b)
    a2 = xmpptest.Client(alice + "/two", args.password)
    a3 = xmpptest.Client(alice + "/later", args.password)
    got2, later = bodies(a2), bodies(a3)
    delays = []
    a3.add_event_handler("message", lambda m: delays.append(m.xml.find("{urn:xmpp:delay}delay") is not None)
                         if m["body"] == "queued while away" else None)
    try:
        await xmpptest.open_session(args, b)
        await xmpptest.open_session(args, a2)
        await hibernate_and_expire(args, alice + "/one", b, "bounce me")
        await until(lambda: errors, t)
        result["bounced"] = sorted("%s:%s" % k for k in errors)
        result["bounce_reached_other_resource"] = got2["bounce me"]
        await xmpptest.close(a2)

        await hibernate_and_expire(args, alice + "/one", b, "queued while away")
        await xmpptest.open_session(args, a3)
        await until(lambda: later["queued while away"], t)
        await asyncio.sleep(0.5)
        result["offline_delivered"] = later["queued while away"]
        result["delayed"] = bool(delays) and all(delays)
        xmpptest.expect(result, result["bounced"] == ["%s/one:recipient-unavailable" % alice], "bounces %s" % result["bounced"])
        xmpptest.expect(result, result["offline_delivered"] == 1,
                        "the message queued in the expired session reached the next login %d times" % result["offline_delivered"])
    finally:
        await xmpptest.close(a3)
        await xmpptest.close(a2)
        await xmpptest.close(b)


async def a2_enable_carbons(client, t):
    iq = client.Iq()
    iq["type"] = "set"
    from slixmpp.xmlstream import ET
    iq.append(ET.Element("{%s}enable" % CARBONS))
    try:
        reply = await iq.send(timeout=t)
        return reply["type"]
    except Exception as err:  # noqa: BLE001 - the reply type is what the test records
        return "error: %s" % err


if __name__ == "__main__":
    p = xmpptest.peer_parser(__doc__)
    p.add_argument("--scenario", choices=["core", "timeout"], default="core")
    p.add_argument("--hibernation", type=float, default=2.0, help="the server's smacks_hibernation_time")
    parsed = p.parse_args()
    raise SystemExit(xmpptest.run(timeout if parsed.scenario == "timeout" else scenario, parsed))
