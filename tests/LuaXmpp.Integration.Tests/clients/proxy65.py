#!/usr/bin/python3
"""A file through Prosody's mod_proxy65 (XEP-0065 SOCKS5 Bytestreams, mediated) with two
slixmpp clients.

A (--jid) discovers the proxy (XEP-0065 §4: disco#items of the server, an identity
proxy/bytestreams, the streamhost's network address), offers B (--peer-jid) a bytestream
through it; B connects to the proxy and accepts; A connects, asks the proxy to activate
(§6.3.5) and sends --size bytes, then closes. B must receive exactly those bytes, followed by
the proxy closing its side. Then bad activations: an unknown sid (item-not-found) and a
missing target (bad-request).
"""

import asyncio
import hashlib
import os

from slixmpp.xmlstream import ET

import xmpptest

BYTESTREAMS = "http://jabber.org/protocol/bytestreams"


async def activate_error(client, proxy, sid, target, t):
    query = ET.Element("{%s}query" % BYTESTREAMS, {"sid": sid})
    if target is not None:
        ET.SubElement(query, "{%s}activate" % BYTESTREAMS).text = target
    reply = await xmpptest.send_iq(client, "set", proxy, query, t)
    return xmpptest.condition(reply) if reply["type"] == "error" else reply["type"]


async def scenario(args, result):
    t = args.step_timeout
    a = xmpptest.Client(args.jid, args.password, plugins=("xep_0030", "xep_0065"))
    b = xmpptest.Client(args.peer_jid, args.peer_password, plugins=("xep_0030", "xep_0065"))
    b["xep_0065"].auto_accept = True
    payload = os.urandom(args.size)
    received = bytearray()
    closed = asyncio.get_event_loop().create_future()
    b.add_event_handler("socks5_data", received.extend)
    b.add_event_handler("socks5_closed", lambda _exc: closed.done() or closed.set_result(True))
    try:
        await xmpptest.open_session(args, a)
        await xmpptest.open_session(args, b)
        proxies = await a["xep_0065"].discover_proxies(timeout=t)
        result["proxies"] = {str(jid): [host, int(port)] for jid, (host, port) in proxies.items()}
        xmpptest.expect(result, len(proxies) == 1, "proxies discovered: %s" % result["proxies"])
        sock = await asyncio.wait_for(a["xep_0065"].handshake(b.boundjid, timeout=t), t)
        if sock is None:
            raise xmpptest.ScenarioFailure("the bytestream was not established")
        result["established"] = True
        for offset in range(0, len(payload), 16384):
            await sock.write(payload[offset:offset + 16384])
        # All of it arrives before A hangs up: the proxy relays what it read before closing B.
        for _ in range(int(t * 20)):
            if len(received) >= len(payload):
                break
            await asyncio.sleep(0.05)
        sock.transport.close()
        await asyncio.wait_for(closed, t)
        result["proxy_closed_target"] = True
        result["received"] = len(received)
        result["sha256_equal"] = hashlib.sha256(received).digest() == hashlib.sha256(payload).digest()
        proxy = next(iter(proxies))
        result["unknown_sid"] = await activate_error(a, proxy, "no-such-sid", str(b.boundjid), t)
        result["no_target"] = await activate_error(a, proxy, "some-sid", None, t)
        xmpptest.expect(result, result["sha256_equal"], "received %d of %d bytes, equal: %s"
                        % (len(received), len(payload), result["sha256_equal"]))
    finally:
        await xmpptest.close(a)
        await xmpptest.close(b)


if __name__ == "__main__":
    p = xmpptest.peer_parser(__doc__)
    p.add_argument("--size", type=int, default=256 * 1024)
    raise SystemExit(xmpptest.run(scenario, p.parse_args()))
