#!/usr/bin/python3
"""One account with two resources (RFC 6120 §7, RFC 6121 §8.5.2.1.1).

A logs in twice (resources r1 and r2); B sends chat messages to A's bare JID.
With equal priorities both resources receive it; after r2 lowers its priority
only r1 (the top resource) does. A message to a full JID reaches that resource only.
"""

import asyncio

import xmpptest


async def expect_delivery(args, result, key, sender, to, body, receivers, all_resources):
    """Sends body and records which resources got it within a quiet period."""
    got = {str(r.boundjid): xmpptest.Waiter(r, "message", lambda m: m["body"] == body)
           for r in all_resources}
    sender.send_message(mto=to, mbody=body, mtype="chat")
    for r in receivers:
        await got[str(r.boundjid)].wait(args.step_timeout, "%s at %s" % (key, r.boundjid))
    # The others must stay silent: after the sender's round trip the server has
    # routed the message, and a receiver's round trip flushes its queue.
    await xmpptest.round_trip(sender, args.step_timeout)
    for r in all_resources:
        await xmpptest.round_trip(r, args.step_timeout)
    result[key] = sorted(jid for jid, w in got.items() if w.future.done())
    wanted = sorted(str(r.boundjid) for r in receivers)
    xmpptest.expect(result, result[key] == wanted, "%s reached %s, wanted %s" % (key, result[key], wanted))


async def scenario(args, result):
    r1 = xmpptest.Client(args.jid1 + "/r1", args.password1)
    r2 = xmpptest.Client(args.jid1 + "/r2", args.password1)
    b = xmpptest.Client(args.jid2, args.password2)
    clients = (r1, r2, b)
    try:
        await xmpptest.open_session(args, r1, priority=1)
        await xmpptest.open_session(args, r2, priority=1)
        await xmpptest.open_session(args, b)
        result["resources"] = [str(r1.boundjid), str(r2.boundjid)]
        xmpptest.expect(result, r1.boundjid != r2.boundjid, "both sessions bound to the same JID")
        await expect_delivery(args, result, "bare_equal_priority", b, args.jid1, "to both",
                              (r1, r2), (r1, r2))
        await expect_delivery(args, result, "full_jid", b, r2.boundjid.full, "to r2 only",
                              (r2,), (r1, r2))
        r2.send_presence(ppriority=0)
        # Let the priority change reach the server before the next message.
        await xmpptest.round_trip(r2, args.step_timeout)
        await expect_delivery(args, result, "bare_top_priority", b, args.jid1, "to the top",
                              (r1,), (r1, r2))
    finally:
        for c in clients:
            await xmpptest.close(c)


if __name__ == "__main__":
    p = xmpptest.parser(__doc__)
    p.add_argument("--jid1", required=True, help="bare JID of the two-resource account")
    p.add_argument("--password1", required=True)
    p.add_argument("--jid2", required=True)
    p.add_argument("--password2", required=True)
    raise SystemExit(xmpptest.run(scenario, p.parse_args()))
