#!/usr/bin/python3
"""What a client sees of handlers that wait before they answer (contract §0.8, issue 11
point 1): the test module's handlers wait on a timer (util.async) and only then add a stream
feature, a disco#info feature on the account, a disco#items item on the host, and refuse to
archive messages whose body starts with "unarchived". Records what arrived; the test asserts.
"""

import slixmpp

import xmpptest
from services import iq_get

PLUGINS = ("xep_0030", "xep_0059", "xep_0297", "xep_0313", "xep_0359")
DISCO_INFO = "http://jabber.org/protocol/disco#info"
DISCO_ITEMS = "http://jabber.org/protocol/disco#items"


async def step(result, name, work):
    """Runs one part; a part that fails (no answer) is recorded and the others still run."""
    try:
        result[name] = await work
    except (slixmpp.exceptions.IqTimeout, slixmpp.exceptions.IqError) as failure:
        result.setdefault("step_errors", {})[name] = "%s: %s" % (type(failure).__name__, failure)


async def vars_of(client, to, ns, attribute, t):
    reply = await iq_get(client, to, "{%s}query" % ns, t)
    child = "feature" if ns == DISCO_INFO else "item"
    return [e.get(attribute) for e in reply.xml.iter("{%s}%s" % (ns, child))]


async def archived(client, peer, t):
    for body in ("archived-1", "unarchived-1", "archived-2"):
        client.send_message(mto=peer, mbody=body, mtype="chat")
    await xmpptest.round_trip(client, t)
    archive = await client["xep_0313"].retrieve(rsm={"max": 50}, timeout=t)
    return [m["mam_result"]["forwarded"]["stanza"]["body"] for m in archive["mam"]["results"]]


async def scenario(args, result):
    t = args.step_timeout
    client = xmpptest.Client(args.jid, args.password, plugins=PLUGINS)
    try:
        await xmpptest.open_session(args, client, presence=False)
        result["stream_features"] = client.stream_features
        await step(result, "account_features", vars_of(client, client.boundjid.bare, DISCO_INFO, "var", t))
        await step(result, "host_items", vars_of(client, client.boundjid.domain, DISCO_ITEMS, "jid", t))
        await step(result, "archive", archived(client, args.peer_jid, t))
    finally:
        await xmpptest.close(client)


if __name__ == "__main__":
    p = xmpptest.parser(__doc__)
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--peer-jid", required=True)
    raise SystemExit(xmpptest.run(scenario, p.parse_args()))
