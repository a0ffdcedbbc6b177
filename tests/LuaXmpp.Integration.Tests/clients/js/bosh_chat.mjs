// strophe.js over BOSH (XEP-0124/XEP-0206), as Converse.js uses it: log in, bind, send a chat
// message to --peer, wait for --expect replies, enable XEP-0198 with a raw <enable/>
// (strophe negotiates stream management itself only over WebSocket), log out.
// Prints one JSON line (statuses ends with DISCONNECTED when the session was terminated).
//   node bosh_chat.mjs --url http://127.0.0.1:PORT/http-bind --domain localhost
//        --user U --password P --peer JID [--expect 1] [--timeout 30] [--drop 1]
// --drop 1: after <enabled/>, exit without terminating (the page went away; the server's
//   bosh_max_inactivity ends the BOSH session and smacks hibernates it).
// --previd ID --h N: log in (SASL) on a new BOSH session and, instead of binding, resume
//   the XEP-0198 session ID with <resume/>; then wait for --expect messages, send id
//   'strophe2' to --peer and finish on the peer's message id 'after'.
import XMLHttpRequestBase from "xhr2";
import { Strophe, $msg, $pres, $build } from "strophe.js";

// Node has no XMLHttpRequest; xhr2 supplies one but without responseXML, which strophe reads
// each BOSH response from. Parse the text with the DOMParser strophe's Node build installs.
globalThis.XMLHttpRequest = class extends XMLHttpRequestBase {
  get responseXML() {
    if (this.readyState !== 4 || !this.responseText) return null;
    return new DOMParser().parseFromString(this.responseText, "text/xml");
  }
};

// Strophe logs every request at DEBUG by default; keep warnings and errors for failures.
Strophe.setLogLevel(Strophe.LogLevel.WARN);

const SM = "urn:xmpp:sm:3";
const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, v, i, all) => {
  if (v.startsWith("--")) pairs.push([v.slice(2), all[i + 1]]);
  return pairs;
}, []));
const result = { ok: false, statuses: [] };
const expected = Number(args.expect ?? 1);
const timer = setTimeout(() => finish("timed out"), Number(args.timeout ?? 30) * 1000);
const conn = new Strophe.Connection(args.url);
const received = [];
const resuming = args.previd !== undefined;
let finished = false;

function finish(error) {
  if (finished) return;
  finished = true;
  clearTimeout(timer);
  if (error) result.error = String(error);
  result.ok = !result.error;
  if (args.drop && !error) {
    // No terminate and no further requests: report and let the process end.
    result.sid = conn._proto.sid;
    report();
    return;
  }
  // Terminate the BOSH session (XEP-0124 §13), then report; bounded in time.
  setTimeout(report, 5000).unref();
  try { conn.disconnect("done"); } catch (err) { result.disconnect_error = String(err); report(); }
}

function report() {
  console.log(JSON.stringify(result));
  process.exit(result.ok ? 0 : 1);
}

function enableStreamManagement() {
  conn.addHandler((el) => {
    result.sm_enabled = true;
    result.sm_id = el.getAttribute("id");
    result.sm_resume = el.getAttribute("resume");
    finish();
    return false;
  }, SM, "enabled");
  conn.addHandler((el) => { finish(`sm failed: ${Strophe.serialize(el)}`); return false; }, SM, "failed");
  conn.send($build("enable", { xmlns: SM, resume: "true" }));
}

conn.addHandler((stanza) => {
  const body = stanza.getElementsByTagName("body")[0];
  if (!body) return true;
  received.push({ from: stanza.getAttribute("from"), id: stanza.getAttribute("id"), body: Strophe.getText(body) });
  result.received = received;
  if (resuming) {
    if (received.length === expected) {
      conn.send($msg({ to: args.peer, type: "chat", id: "strophe2" }).c("body").t("back again"));
    }
    if (stanza.getAttribute("id") === "after") finish();
  } else if (received.length === expected) enableStreamManagement();
  return true;
}, null, "message");

if (resuming) {
  // strophe resumes XEP-0198 sessions itself only over WebSocket. Over BOSH, replace the one
  // step after SASL's stream restart: send <resume/> (XEP-0198 §5) instead of binding.
  conn._onStreamFeaturesAfterSASL = function (features) {
    this.features = features;
    const done = (handlers) => handlers.forEach((h) => this.deleteHandler(h));
    const handlers = [
      this._addSysHandler((el) => {
        done(handlers);
        result.resumed = true;
        result.resumed_h = el.getAttribute("h");
        // XEP-0198 §5: the resumed session keeps its full JID; nothing to bind.
        this.authenticated = true;
        this.jid = args.jid ?? this.jid;
        this._changeConnectStatus(Strophe.Status.CONNECTED, null);
        return false;
      }, SM, "resumed", null, null),
      this._addSysHandler((el) => {
        done(handlers);
        finish(`resume failed: ${Strophe.serialize(el)}`);
        return false;
      }, SM, "failed", null, null),
    ];
    this.send($build("resume", { xmlns: SM, previd: args.previd, h: args.h ?? "0" }));
    return false;
  };
}

conn.connect(`${args.user}@${args.domain}`, args.password, (status, condition) => {
  const name = Object.keys(Strophe.Status).find((k) => Strophe.Status[k] === status);
  result.statuses.push(name);
  if (status === Strophe.Status.CONNECTED && resuming) {
    result.jid = conn.jid;
  } else if (status === Strophe.Status.CONNECTED) {
    result.jid = conn.jid;
    conn.send($pres());
    conn.send($msg({ to: args.peer, type: "chat", id: "strophe1" }).c("body").t("hello from strophe.js"));
    result.sent = true;
  } else if (status === Strophe.Status.CONNFAIL || status === Strophe.Status.AUTHFAIL) {
    finish(`${name}: ${condition ?? ""}`);
  } else if (status === Strophe.Status.DISCONNECTED) {
    if (finished) report();
    finish(`disconnected: ${condition ?? ""}`);
  }
});
