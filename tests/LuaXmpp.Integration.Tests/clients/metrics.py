#!/usr/bin/python3
"""GET /metrics as a monitoring system does, with a logged-in client connected.

Logs one account in (slixmpp), sends a message to itself and waits for it, so the archive and
the test module's counters move, then GETs http://127.0.0.1:<http-port>/metrics and parses the body with
prometheus_client's OpenMetrics parser (it raises on anything the format does not allow,
including a missing "# EOF"). Reports the status, the content type and every family as
{name: {"type", "unit", "samples": [[sample name, labels, value], ...]}}.
"""

import asyncio
import urllib.error
import urllib.request

from prometheus_client.openmetrics.parser import text_string_to_metric_families

import xmpptest


def get(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=20) as response:
            return response.status, response.headers.get("Content-Type"), response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type"), error.read().decode("utf-8", "replace")


def families(text):
    parsed = {}
    for family in text_string_to_metric_families(text):
        parsed[family.name] = {
            "type": family.type,
            "unit": family.unit,
            "samples": [[s.name, dict(s.labels), s.value] for s in family.samples],
        }
    return parsed


def gauge(parsed, name):
    samples = parsed.get(name, {}).get("samples", [])
    return samples[0][2] if samples else 0


async def hibernate(args, result):
    """A second account enables XEP-0198 with resumption and loses its connection without a
    stream close: the server keeps its session hibernating. Returns its full JID."""
    phone = xmpptest.Client(args.smacks_jid, args.password, plugins=["xep_0198"])
    enabled = xmpptest.event_future(phone, "sm_enabled")
    await xmpptest.open_session(args, phone)
    await asyncio.wait_for(enabled, args.step_timeout)
    full = str(phone.boundjid)
    phone.abort()
    result["hibernated_jid"] = full
    return full


async def scenario(args, result):
    client = xmpptest.Client(args.jid, args.password)
    await xmpptest.open_session(args, client)
    if args.smacks_jid:
        phone = await hibernate(args, result)
        client.send_message(mto=phone, mbody="for the hibernating session", mtype="chat")
    echo = xmpptest.Waiter(client, "message", lambda m: m["body"] == "metrics probe")
    client.send_message(mto=client.boundjid.bare, mbody="metrics probe")
    # With archive_durability = "strict" the copy arrives only once the archive committed it.
    await echo.wait(args.step_timeout, "the message to our own bare JID")
    await xmpptest.round_trip(client, args.step_timeout)
    loop = asyncio.get_event_loop()
    # The server sees the cut connection on its own schedule: scrape until it shows (bounded).
    for attempt in range(40):
        status, content_type, body = await loop.run_in_executor(None, get, args.http_port, "/metrics")
        result["status"] = status
        result["content_type"] = content_type
        result["scrapes"] = attempt + 1
        if status != 200:
            break
        try:
            result["families"] = families(body)
        except Exception as exc:  # the parser's verdict is the point of this test
            result["parse_error"] = "%s: %s" % (type(exc).__name__, exc)
            result["body"] = body[:4000]
            break
        parsed = result["families"]
        if not args.smacks_jid or (gauge(parsed, "luaxmpp_smacks_hibernating_sessions") >= 1
                                   and gauge(parsed, "luaxmpp_smacks_queued_stanzas") >= 1):
            break
        await asyncio.sleep(0.25)
    xmpptest.expect(result, status == 200, "GET /metrics: %s %s" % (status, body[:200]))
    xmpptest.expect(result, "parse_error" not in result, "not OpenMetrics: %s" % result.get("parse_error"))
    await xmpptest.close(client)


if __name__ == "__main__":
    p = xmpptest.parser(__doc__)
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--http-port", type=int, required=True)
    p.add_argument("--smacks-jid", help="a second account (same password) left hibernating with XEP-0198")
    raise SystemExit(xmpptest.run(scenario, p.parse_args()))
