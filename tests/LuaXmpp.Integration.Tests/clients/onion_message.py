#!/usr/bin/python3
"""A message to a .onion domain, which mod_onions routes through its SOCKS5 (Tor) proxy.

The client only sends; the test reads the server log for what the module did with it.
"""

import xmpptest


async def scenario(args, result):
    a = xmpptest.Client(args.jid, args.password)
    try:
        await xmpptest.open_session(args, a)
        a.send_message(mto=args.to, mbody="through tor")
        await xmpptest.round_trip(a, args.step_timeout)
        result["sent"] = True
    finally:
        await xmpptest.close(a)


if __name__ == "__main__":
    p = xmpptest.parser(__doc__)
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--to", required=True)
    raise SystemExit(xmpptest.run(scenario, p.parse_args()))
