// xmpp.js over WebSocket (RFC 7395), as a web client uses it: log in, bind, enable XEP-0198,
// send a chat message to --peer and wait for --expect replies from it. Prints one JSON line.
//   node ws_chat.mjs --url ws://127.0.0.1:PORT/xmpp-websocket --domain localhost
//        --user U --password P --peer JID [--expect 1] [--timeout 30]
import { client, xml } from "@xmpp/client";

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, v, i, all) => {
  if (v.startsWith("--")) pairs.push([v.slice(2), all[i + 1]]);
  return pairs;
}, []));
const result = { ok: false };
const expected = Number(args.expect ?? 1);
const timer = setTimeout(() => finish("timed out"), Number(args.timeout ?? 30) * 1000);

const xmpp = client({ service: args.url, domain: args.domain, username: args.user, password: args.password });
const received = [];

function finish(error) {
  clearTimeout(timer);
  if (error) result.error = String(error);
  result.sm_enabled = Boolean(xmpp.streamManagement.enabled);
  result.sm_id = xmpp.streamManagement.id || null;
  result.ok = !result.error;
  console.log(JSON.stringify(result));
  xmpp.stop().catch(() => {}).finally(() => process.exit(result.ok ? 0 : 1));
}

xmpp.on("error", (err) => { result.client_errors = (result.client_errors ?? []).concat(String(err)); });
xmpp.streamManagement.on("resumed", () => { result.resumed = true; });
xmpp.on("stanza", (stanza) => {
  if (!stanza.is("message") || !stanza.getChild("body")) return;
  received.push({ from: stanza.attrs.from, body: stanza.getChildText("body") });
  result.received = received;
  if (received.length >= expected) finish();
});
xmpp.on("online", async (address) => {
  result.jid = address.toString();
  result.sm_enabled = Boolean(xmpp.streamManagement.enabled);
  await xmpp.send(xml("presence"));
  await xmpp.send(xml("message", { to: args.peer, type: "chat", id: "js1" }, xml("body", {}, "hello from xmpp.js")));
  result.sent = true;
});

xmpp.start().catch((err) => finish(err));
