#!/usr/bin/python3
"""A message to an offline user is stored and delivered on the next login.

A logs in and sends a chat message to B's bare JID while B has no session,
then leaves. B logs in and sends initial presence (XEP-0160 §3: delivery on
available presence); the message must arrive from A with an XEP-0203 delay.
"""

import asyncio

import xmpptest

DELAY = "{urn:xmpp:delay}delay"


async def scenario(args, result):
    t = args.step_timeout
    body = "while you were away"
    a = xmpptest.Client(args.jid1, args.password1)
    b = xmpptest.Client(args.jid2, args.password2)
    try:
        await xmpptest.open_session(args, a)
        errors = xmpptest.Waiter(a, "message_error", lambda m: True)
        a.send_message(mto=b.boundjid.bare, mbody=body, mtype="chat")
        # A round trip to the server orders the message before our departure.
        await xmpptest.round_trip(a, t)
        result["sender_errors"] = errors.seen
        await xmpptest.close(a)

        at_b = xmpptest.Waiter(b, "message", lambda m: m["body"] == body)
        await xmpptest.open_session(args, b)
        m = await at_b.wait(t, "offline message at B")
        delay = m.xml.find(DELAY)
        result["received"] = {
            "from": str(m["from"]),
            "to": str(m["to"]),
            "body": m["body"],
            "delay_stamp": delay.get("stamp") if delay is not None else None,
            "delay_from": delay.get("from") if delay is not None else None,
        }
        xmpptest.expect(result, m["from"].bare == a.boundjid.bare,
                        "from %s, wanted %s" % (m["from"], a.boundjid.bare))
        xmpptest.expect(result, delay is not None and bool(delay.get("stamp")),
                        "no urn:xmpp:delay stamp on the offline message")
    finally:
        await xmpptest.close(a)
        await xmpptest.close(b)


if __name__ == "__main__":
    p = xmpptest.parser(__doc__)
    p.add_argument("--jid1", required=True)
    p.add_argument("--password1", required=True)
    p.add_argument("--jid2", required=True)
    p.add_argument("--password2", required=True)
    raise SystemExit(xmpptest.run(scenario, p.parse_args()))
