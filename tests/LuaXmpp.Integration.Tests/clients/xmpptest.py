"""Shared plumbing for the integration client scripts.

Every script prints exactly one JSON object on stdout (its result) and exits 0
when the scenario behaved as expected, 1 otherwise. A whole-script deadline
guarantees that a silent server can never hang the test run.
"""

import argparse
import asyncio
import json
import logging
import ssl
import sys
import traceback

import slixmpp

DEFAULT_TIMEOUT = 25.0


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--host", default="127.0.0.1", help="address to connect to")
    p.add_argument("--port", type=int, required=True, help="c2s port (or direct TLS port)")
    p.add_argument("--direct-tls", action="store_true", help="connect with TLS from the first byte")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                   help="whole-scenario deadline in seconds")
    p.add_argument("--step-timeout", type=float, default=10.0,
                   help="deadline for one awaited event")
    p.add_argument("--debug", action="store_true", help="slixmpp debug log on stderr")
    return p


def scenario_parser(description, scenarios):
    """parser() plus --scenario and the accounts of A (--jid) and, for scenarios that need
    one, B (--peer-jid)."""
    p = parser(description)
    p.add_argument("--scenario", required=True, choices=sorted(scenarios))
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--peer-jid")
    p.add_argument("--peer-password")
    return p


def peer_parser(description):
    """parser() plus the accounts of A (--jid) and its contact B (--peer-jid), both required."""
    p = parser(description)
    for prefix in ("", "peer-"):
        p.add_argument("--%sjid" % prefix, required=True)
        p.add_argument("--%spassword" % prefix, required=True)
    return p


def two_client_parser(description):
    """parser() plus the accounts of two clients, A (--jid1) and B (--jid2)."""
    p = parser(description)
    for n in ("1", "2"):
        p.add_argument("--jid" + n, required=True)
        p.add_argument("--password" + n, required=True)
    return p


class Client(slixmpp.ClientXMPP):
    """A slixmpp client that accepts the server's self-signed certificate and
    records what the server offered, so tests can assert on it."""

    def __init__(self, jid, password, mech=None, plugins=(), lang="en"):
        super().__init__(jid, password, sasl_mech=mech, lang=lang)
        # The server generates a self-signed certificate on first start.
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        # Subscription handling is explicit in the scenarios (RFC 6121 §3).
        self.roster.auto_authorize = None
        self.roster.auto_subscribe = False
        for plugin in plugins:
            self.register_plugin(plugin)
        self.stream_features = []   # list of lists of "{ns}name", one per features stanza
        self.mechanisms_offered = []
        self.auth_failures = []
        self.tls_used = False
        self.add_filter("in", self._record_features)
        self.add_event_handler("failed_auth", self._on_failed_auth)
        self.add_event_handler("ssl_cert", self._on_tls)

    def _record_features(self, stanza):
        if isinstance(stanza, slixmpp.stanza.StreamFeatures):
            children = [child.tag for child in stanza.xml]
            self.stream_features.append(children)
            mechs = stanza.xml.find("{urn:ietf:params:xml:ns:xmpp-sasl}mechanisms")
            if mechs is not None:
                self.mechanisms_offered = [m.text for m in mechs]
        return stanza

    def _on_failed_auth(self, failure):
        self.auth_failures.append(failure["condition"])

    def _on_tls(self, _pem):
        self.tls_used = True

    @property
    def mechanism_used(self):
        mech = self["feature_mechanisms"].mech
        return mech.name if mech is not None and self.authenticated else None


def event_future(client, event):
    """A future resolved by the next firing of a slixmpp event."""
    future = asyncio.get_event_loop().create_future()

    def fire(data=None):
        if not future.done():
            future.set_result(data)

    client.add_event_handler(event, fire, disposable=True)
    return future


async def connect(args, client):
    """Connects and waits for a bound session, a final SASL failure or the end
    of the connection. Returns 'session', 'failed_all_auth' or 'disconnected'."""
    outcomes = {name: event_future(client, name)
                for name in ("session_start", "failed_all_auth", "disconnected")}
    client.connect((args.host, args.port), use_ssl=args.direct_tls,
                   force_starttls=not args.direct_tls, disable_starttls=args.direct_tls)
    done, _ = await asyncio.wait(outcomes.values(), timeout=args.step_timeout,
                                 return_when=asyncio.FIRST_COMPLETED)
    for name, future in outcomes.items():
        if future in done:
            return "session" if name == "session_start" else name
    return "timeout"


async def open_session(args, client, presence=True, priority=None):
    """Connects, authenticates, binds, fetches the roster (which makes the
    session 'interested', RFC 6121 §2.1.6) and sends initial presence."""
    outcome = await connect(args, client)
    if outcome != "session":
        raise ScenarioFailure("no session for %s: %s (auth failures: %s)"
                              % (client.boundjid, outcome, client.auth_failures))
    await roster_items(client, args.step_timeout)
    if presence:
        if priority is None:
            client.send_presence()
        else:
            client.send_presence(ppriority=priority)
    return client


async def close(client, timeout=5.0):
    if client.transport is None:
        return
    client.disconnect()
    try:
        await asyncio.wait_for(client.disconnected, timeout)
    except (asyncio.TimeoutError, asyncio.CancelledError):
        client.abort()


async def roster_items(client, timeout):
    """Reads the roster straight from the server (RFC 6121 §2.2), not the cache."""
    iq = client.Iq()
    iq["type"] = "get"
    iq.enable("roster")
    result = await iq.send(timeout=timeout)
    items = {}
    for item in result.xml.iter("{jabber:iq:roster}item"):
        items[item.get("jid")] = {
            "subscription": item.get("subscription", "none"),
            "ask": item.get("ask"),
            "name": item.get("name"),
        }
    return items


class ScenarioFailure(Exception):
    pass


class Waiter:
    """Collects stanzas of one event until a predicate matches."""

    def __init__(self, client, event, predicate):
        self.future = asyncio.get_event_loop().create_future()
        self.seen = []
        self._predicate = predicate
        client.add_event_handler(event, self._on_event)

    def _on_event(self, stanza):
        self.seen.append(str(stanza))
        if not self.future.done() and self._predicate(stanza):
            self.future.set_result(stanza)

    async def wait(self, timeout, what):
        try:
            return await asyncio.wait_for(asyncio.shield(self.future), timeout)
        except asyncio.TimeoutError:
            raise ScenarioFailure("timed out waiting for %s; saw %s" % (what, self.seen[-5:]))


def run(scenario, args):
    """Runs scenario(args, result) under the deadline and prints the result."""
    if args.debug:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,
                            format="%(levelname)-8s %(message)s")
    result = {"ok": False}
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(asyncio.wait_for(scenario(args, result), args.timeout))
        result["ok"] = "error" not in result
    except asyncio.TimeoutError:
        result["ok"] = False
        result["error"] = "scenario exceeded %.0f s" % args.timeout
    except ScenarioFailure as failure:
        result["ok"] = False
        result["error"] = str(failure)
    except Exception as exc:  # a client-side bug must still print a result
        result["ok"] = False
        result["error"] = "%s: %s" % (type(exc).__name__, exc)
        result["traceback"] = traceback.format_exc()
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
    print(json.dumps(result, sort_keys=True))
    sys.stdout.flush()
    return 0 if result["ok"] else 1


def expect(result, condition, message):
    """Records a failed expectation without stopping the scenario."""
    if not condition:
        result.setdefault("failures", []).append(message)
        result["error"] = "; ".join(result["failures"])


async def round_trip(client, timeout):
    """An IQ to the server and its answer: everything this client sent before
    has been processed by then, since a session's stanzas are handled in order."""
    iq = client.Iq()
    iq["type"] = "get"
    iq["to"] = client.boundjid.domain
    iq.append(slixmpp.xmlstream.ET.Element("{urn:xmpp:ping}ping"))
    try:
        await iq.send(timeout=timeout)
    except slixmpp.exceptions.IqError:
        pass  # an error reply is still a reply


async def send_iq(client, type_, to, payload, timeout):
    """Sends an iq with one payload element; returns the reply, a result or an error."""
    request = client.Iq()
    request["type"] = type_
    if to is not None:
        request["to"] = to
    request.append(payload)
    try:
        return await request.send(timeout=timeout)
    except slixmpp.exceptions.IqError as err:
        return err.iq


def condition(stanza):
    """The defined condition of a stanza error (RFC 6120 §8.3.3), read from the XML, or None."""
    error = stanza.xml.find("{jabber:client}error")
    for child in (error if error is not None else []):
        if child.tag.startswith("{urn:ietf:params:xml:ns:xmpp-stanzas}") and not child.tag.endswith("}text"):
            return child.tag.split("}")[1]
    return None
