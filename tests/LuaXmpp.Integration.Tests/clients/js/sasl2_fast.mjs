// xmpp.js (0.14: SASL2, Bind 2, FAST, XEP-0198 inline) over TCP with STARTTLS, as a modern client
// logs in: SASL2 with bind and stream management enabled inline and a FAST token requested; then
// the connection drops, a peer sends a message, and the client comes back with one <authenticate/>
// (FAST token + inline <resume/>) and gets the queued message. Prints one JSON line.
//   node sasl2_fast.mjs --service xmpp://127.0.0.1:PORT --domain localhost --user U --password P
//        --peer-user B --peer-password P [--timeout 40]
import { client, xml } from "@xmpp/client";

// The test server's certificate is self-signed.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, v, i, all) => {
  if (v.startsWith("--")) pairs.push([v.slice(2), all[i + 1]]);
  return pairs;
}, []));
const result = { ok: false, logins: [] };
const timer = setTimeout(() => finish("timed out"), Number(args.timeout ?? 40) * 1000);
const clients = [];

async function finish(error) {
  clearTimeout(timer);
  if (error) result.error = String(error?.stack ?? error);
  result.ok = !result.error;
  console.log(JSON.stringify(result));
  await Promise.allSettled(clients.map((c) => c.stop()));
  process.exit(result.ok ? 0 : 1);
}

function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, resolve));
}

// What one login sent: its <authenticate/> and how many elements went out until <success/>.
function watchLogins(xmpp) {
  let login = null;
  xmpp.on("send", (el) => {
    if (el.is("authenticate", "urn:xmpp:sasl:2")) {
      login = {
        mechanism: el.attrs.mechanism,
        bind: Boolean(el.getChild("bind", "urn:xmpp:bind:0")),
        sm_enable: Boolean(el.getChild("bind", "urn:xmpp:bind:0")?.getChild("enable", "urn:xmpp:sm:3")),
        resume: Boolean(el.getChild("resume", "urn:xmpp:sm:3")),
        request_token: Boolean(el.getChild("request-token", "urn:xmpp:fast:0")),
        sent_until_success: 1,
      };
      result.logins.push(login);
    } else if (login && !login.outcome) {
      login.sent_until_success++;
    }
  });
  xmpp.on("nonza", (el) => {
    if (login && !login.outcome && el.attrs.xmlns === "urn:xmpp:sasl:2" && ["success", "failure"].includes(el.name)) {
      login.outcome = el.name;
      login.token = Boolean(el.getChild("token", "urn:xmpp:fast:0"));
      login.resumed = Boolean(el.getChild("resumed", "urn:xmpp:sm:3"));
    }
  });
}

async function main() {
  const alice = client({ service: args.service, domain: args.domain, username: args.user, password: args.password, resource: "js" });
  clients.push(alice);
  alice.reconnect.stop(); // the test decides when to come back
  alice.on("error", (err) => { result.client_errors = (result.client_errors ?? []).concat(String(err)); });
  watchLogins(alice);
  const messages = [];
  alice.on("stanza", (s) => { if (s.is("message") && s.getChild("body")) messages.push(s.getChildText("body")); });

  const online = once(alice, "online");
  await alice.start();
  result.jid = String(await online);
  result.sm_enabled = Boolean(alice.streamManagement.enabled);
  result.token_saved = Boolean(await alice.fast.fetchToken());

  // The connection drops without a closing stream: the session hibernates (XEP-0198 §5).
  const disconnected = once(alice, "disconnect");
  alice.socket.socket.destroy();
  await disconnected;

  const bob = client({ service: args.service, domain: args.domain, username: args["peer-user"], password: args["peer-password"], resource: "peer" });
  clients.push(bob);
  bob.reconnect.stop();
  await bob.start();
  await bob.send(xml("message", { to: result.jid, type: "chat", id: "away1" }, xml("body", {}, "while you were away")));
  await bob.iqCaller.request(xml("iq", { type: "get", to: args.domain }, xml("ping", "urn:xmpp:ping")));

  const resumed = once(alice.streamManagement, "resumed");
  await alice.reconnect.reconnect();
  await resumed;
  result.resumed_jid = String(alice.jid);
  const deadline = Date.now() + 10_000;
  while (!messages.includes("while you were away") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  result.received = messages;
}

main().then(() => finish(), (err) => finish(err));
