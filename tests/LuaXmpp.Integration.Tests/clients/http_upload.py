#!/usr/bin/python3
"""XEP-0363 HTTP File Upload as a client does it: ask the upload service for a slot over XMPP,
PUT the bytes to the slot's URL with the headers it names, GET them back from the GET URL.

The URLs name the upload component's domain; the test server listens on loopback only, so
requests go to --http-port on 127.0.0.1 with the URL's host as the Host header. Also asks for a
slot bigger than the service allows (--too-big) and expects the file-too-large error, and PUTs
to a slot with a wrong Authorization header, expecting a refusal.
"""

import asyncio
import hashlib
import os
import urllib.parse
import urllib.request

import slixmpp
from slixmpp.xmlstream import ET

import xmpptest

NS = "urn:xmpp:http:upload:0"


def request_slot(client, service, name, size, timeout):
    iq = client.Iq()
    iq["type"] = "get"
    iq["to"] = service
    iq.append(ET.Element("{%s}request" % NS, {"filename": name, "size": str(size), "content-type": "application/octet-stream"}))
    return iq.send(timeout=timeout)


def http(method, url, port, body=None, headers=None):
    """One request to 127.0.0.1:port with the URL's host in Host; returns (status, body bytes)."""
    parts = urllib.parse.urlsplit(url)
    target = "http://127.0.0.1:%d%s" % (port, parts.path + ("?" + parts.query if parts.query else ""))
    request = urllib.request.Request(target, data=body, method=method)
    request.add_header("Host", parts.netloc)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


async def scenario(args, result):
    client = xmpptest.Client(args.jid, args.password)
    await xmpptest.open_session(args, client, presence=False)
    loop = asyncio.get_event_loop()
    data = os.urandom(args.size)

    reply = await request_slot(client, args.service, "photo.jpg", len(data), args.step_timeout)
    slot = reply.xml.find("{%s}slot" % NS)
    put = slot.find("{%s}put" % NS)
    get = slot.find("{%s}get" % NS)
    headers = {h.get("name"): h.text for h in put.findall("{%s}header" % NS)}
    result["put_url"] = put.get("url")
    result["get_url"] = get.get("url")
    result["put_headers"] = sorted(headers)

    bad = dict(headers, Authorization="Bearer not-a-token")
    result["forged_put"], _ = await loop.run_in_executor(None, http, "PUT", put.get("url"), args.http_port, data, bad)

    status, _ = await loop.run_in_executor(None, http, "PUT", put.get("url"), args.http_port, data, headers)
    result["put_status"] = status
    status, body = await loop.run_in_executor(None, http, "GET", get.get("url"), args.http_port)
    result["get_status"] = status
    result["get_identical"] = body == data
    result["sha256"] = hashlib.sha256(data).hexdigest()
    result["got_sha256"] = hashlib.sha256(body).hexdigest()

    try:
        await request_slot(client, args.service, "huge.bin", args.too_big, args.step_timeout)
        result["too_big"] = "granted"
    except slixmpp.exceptions.IqError as err:
        e = err.iq.xml.find("{jabber:client}error")
        result["too_big"] = [c.tag.split("}")[-1] for c in e if not c.tag.endswith("}text")]
    await xmpptest.close(client)


if __name__ == "__main__":
    p = xmpptest.parser(__doc__)
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--service", required=True, help="the upload component's JID")
    p.add_argument("--http-port", type=int, required=True)
    p.add_argument("--size", type=int, default=50000)
    p.add_argument("--too-big", type=int, default=10 ** 9)
    raise SystemExit(xmpptest.run(scenario, p.parse_args()))
