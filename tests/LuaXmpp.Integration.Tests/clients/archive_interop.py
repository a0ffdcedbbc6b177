#!/usr/bin/python3
"""One server writes, another reads the same database (Prosody <-> LuaXmpp on PostgreSQL).

--phase write  A and B log in, become contacts (subscription both), A sends --count
               messages "interop-<i>" to B; then A lists its archive.
--phase read   A and B log in (their stored credentials work), read their rosters and
               A lists its archive.
Both phases report A's archive as [mam result id, body] oldest first, so the test can
compare the ids one server gave with the ids the other serves.
"""

import contacts
import mam
import xmpptest


async def archive_of(client, t):
    iq = await client["xep_0313"].retrieve(rsm={"max": 100}, timeout=t)
    return [[m["mam_result"]["id"], mam.body_of(m)] for m in iq["mam"]["results"]]


async def scenario(args, result):
    t = args.step_timeout
    a = xmpptest.Client(args.jid1, args.password1, plugins=mam.PLUGINS)
    b = xmpptest.Client(args.jid2, args.password2, plugins=mam.PLUGINS)
    try:
        for client in (a, b):
            await xmpptest.open_session(args, client)
        if args.phase == "write":
            await contacts.subscribe(args, result, a, b)
            last = xmpptest.Waiter(b, "message", lambda m: m["body"] == "interop-%d" % (args.count - 1))
            await mam.send_all(a, b.boundjid.bare, ["interop-%d" % i for i in range(args.count)], t)
            await last.wait(t, "the last message at B")
        result["a_roster"] = await xmpptest.roster_items(a, t)
        result["b_roster"] = await xmpptest.roster_items(b, t)
        result["archive"] = await archive_of(a, t)
    finally:
        await xmpptest.close(a)
        await xmpptest.close(b)


if __name__ == "__main__":
    p = xmpptest.two_client_parser(__doc__)
    p.add_argument("--phase", choices=("write", "read"), required=True)
    p.add_argument("--count", type=int, default=10)
    raise SystemExit(xmpptest.run(scenario, p.parse_args()))
