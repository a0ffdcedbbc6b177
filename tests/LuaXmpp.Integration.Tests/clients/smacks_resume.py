#!/usr/bin/python3
"""XEP-0198 with slixmpp's own plugin (xep_0198): alice enables stream management with
resumption; bob sends --count messages to alice's full JID while alice's TCP connection is
cut without a stream close; alice reconnects, resumes, and must see every message exactly once.

Exit 0 when the session was resumed (not re-bound) and nothing was lost or duplicated.
"""

import asyncio
import collections

import xmpptest


async def scenario(args, result):
    t = args.step_timeout
    alice = xmpptest.Client(args.alice, args.password, plugins=["xep_0198"])
    bob = xmpptest.Client(args.bob, args.password)
    received = collections.Counter()
    all_arrived = asyncio.get_event_loop().create_future()
    expected = {"m%d" % i for i in range(args.count)}

    def on_message(msg):
        body = msg["body"]
        if body in expected:
            received[body] += 1
            if set(received) == expected and not all_arrived.done():
                all_arrived.set_result(True)

    alice.add_event_handler("message", on_message)
    sm = alice["xep_0198"]
    try:
        enabled = xmpptest.event_future(alice, "sm_enabled")
        await xmpptest.open_session(args, alice)
        await asyncio.wait_for(enabled, t)
        result["sm_id"] = bool(sm.sm_id)
        await xmpptest.open_session(args, bob)
        target = alice.boundjid.full
        result["alice_jid"] = target

        cut_at = args.count // 2
        for i in range(args.count):
            if i == cut_at:
                # The phone loses its network: no </stream:stream>, the socket just goes.
                alice.abort()
                result["cut_after"] = i
            bob.send_message(mto=target, mbody="m%d" % i, mtype="chat")
            await asyncio.sleep(args.interval)

        resumed = xmpptest.event_future(alice, "session_resumed")
        rebound = xmpptest.event_future(alice, "session_bind")
        alice.connect((args.host, args.port), use_ssl=args.direct_tls,
                      force_starttls=not args.direct_tls, disable_starttls=args.direct_tls)
        done, _ = await asyncio.wait([resumed, rebound], timeout=t, return_when=asyncio.FIRST_COMPLETED)
        result["resumed"] = resumed in done
        result["rebound"] = rebound in done
        xmpptest.expect(result, resumed in done, "the stream was not resumed")
        xmpptest.expect(result, str(alice.boundjid) == target, "bound JID changed")
        try:
            await asyncio.wait_for(asyncio.shield(all_arrived), t)
        except asyncio.TimeoutError:
            pass
        # Give duplicates a moment to show up, and acknowledge everything.
        sm.request_ack()
        await asyncio.sleep(0.5)
        result["missing"] = sorted(expected - set(received), key=lambda b: int(b[1:]))
        result["duplicated"] = sorted((b for b, n in received.items() if n > 1), key=lambda b: int(b[1:]))
        result["received"] = sum(received.values())
        xmpptest.expect(result, not result["missing"], "messages lost: %s" % result["missing"])
        xmpptest.expect(result, not result["duplicated"], "messages duplicated: %s" % result["duplicated"])
    finally:
        await xmpptest.close(bob)
        await xmpptest.close(alice)


if __name__ == "__main__":
    p = xmpptest.parser(__doc__)
    p.add_argument("--alice", required=True)
    p.add_argument("--bob", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--count", type=int, default=40)
    p.add_argument("--interval", type=float, default=0.02, help="seconds between bob's messages")
    raise SystemExit(xmpptest.run(scenario, p.parse_args()))
