-- mod_smacks: XEP-0198 Stream Management for LuaXmpp.
--
-- The per-stanza work (counting in both directions, the unacked queue, answering <r/>,
-- processing <a/>, requesting acks, the ack-delay timer) runs in C#
-- (src/Core/StreamManagement), reached through the sm_* natives. This module decides policy:
-- when stream management may be enabled, which sessions hibernate and for how long, who may
-- resume what, and what happens to unacknowledged stanzas when a session ends. Option names,
-- defaults and events are those of Prosody's mod_smacks, so operators and modules that hook
-- the events (mod_cloud_notify) see the same behaviour.
--
-- Options (seconds where a time):
--   smacks_hibernation_time (600)             how long a disconnected session stays resumable;
--                                              a client's smaller <enable max=…/> is honoured
--   smacks_max_unacked_stanzas (0)             ask for an ack once more than this many are unacked
--   smacks_max_inactive_unacked_stanzas (256)  the same while the client is CSI-inactive
--   smacks_max_ack_delay (30)                  fire "smacks-ack-delayed" when an <r/> stays unanswered
--   smacks_max_hibernated_sessions (10)        hibernating sessions per user; the oldest is ended
--   smacks_max_old_sessions (10)               per user, expired sessions whose h is kept in
--                                              storage (store "smacks_h"), for <failed h=…/>
--   smacks_max_queue_size (500)                unacked queue bound; beyond it the session
--                                              cannot be resumed and its messages go offline
--   smacks_summary_interval (60)              at most one info line per interval saying how many
--                                              sessions started hibernating, resumed and expired
--                                              (none while nothing happens; 0 turns it off)
--   smacks_enabled_s2s (true), smacks_s2s_resend (false)
--                                              XEP-0198 acks on s2s streams (done natively in
--                                              src/Core/S2s); resend: unacked stanzas of a cut
--                                              s2s connection go again over a new one, else bounce

local st = require "util.stanza";
local errors = require "util.error";
local new_id = require "util.id".short;
local sessionmanager = require "core.sessionmanager";
local smacks = require "luaxmpp.smacks";

local os_time, tostring, tonumber, pairs, ipairs, math_floor = os.time, tostring, tonumber, pairs, ipairs, math.floor;

local xmlns_sm2 = "urn:xmpp:sm:2";
local xmlns_sm3 = "urn:xmpp:sm:3";
local xmlns_errors = "urn:ietf:params:xml:ns:xmpp-stanzas";
local xmlns_mam2 = "urn:xmpp:mam:2";

local hibernation_time = module:get_option_number("smacks_hibernation_time", 600);
local max_unacked = module:get_option_number("smacks_max_unacked_stanzas", 0);
local max_inactive_unacked = module:get_option_number("smacks_max_inactive_unacked_stanzas", 256);
local max_ack_delay = module:get_option_number("smacks_max_ack_delay", 30);
local max_hibernated = module:get_option_number("smacks_max_hibernated_sessions", 10);
local max_old_sessions = module:get_option_number("smacks_max_old_sessions", 10);
local queue_size = module:get_option_number("smacks_max_queue_size", 500);
local summary_interval = module:get_option_number("smacks_summary_interval", 60);
-- s2s streams are native (src/Core/S2s/S2sStreamManagement.cs) and read these two options themselves.
module:get_option_boolean("smacks_enabled_s2s", true);
module:get_option_boolean("smacks_s2s_resend", false);

-- username → { [token] = { h = <last h>, t = <expiry time> } }: what a late <resume/> is told.
-- The same rows as a map store, so an expiry is one write (a mass expiry is as many writes).
local old_sessions = module:open_store("smacks_h");
local old_session_map = module:open_store("smacks_h", "map");

-- "user@host/token" → resumable session (connected or hibernating).
local registry = {};
-- username → array of hibernating sessions, oldest first (for smacks_max_hibernated_sessions).
local hibernating_by_user = {};
-- How many sessions hibernate now, and what happened since the last summary line.
local hibernating_count = 0;
local summary = { hibernated = 0, resumed = 0, expired = 0 };
local summary_timer;

-- One line per interval instead of one per session: with many clients (a network outage
-- disconnects thousands at once) a debug line per session is too many for an operator, and
-- nothing at info would hide a mass expiry. Nothing is logged while nothing happens.
local function log_summary()
	summary_timer = nil;
	module:log("info", "Stream management in the last %d s: %d sessions started hibernating, %d resumed, %d expired; %d hibernating now",
		summary_interval, summary.hibernated, summary.resumed, summary.expired, hibernating_count);
	summary.hibernated, summary.resumed, summary.expired = 0, 0, 0;
end

local function count(what)
	summary[what] = summary[what] + 1;
	if summary_interval > 0 and not summary_timer then
		summary_timer = module:add_timer(summary_interval, log_summary);
	end
end

local host_events = (prosody.hosts[module.host] or prosody).events;

local function registry_key(username, token) return username .. "@" .. module.host .. "/" .. token; end

local function info_of(session)
	local info = smacks.info(session);
	if info and info.enabled then return info; end
	return nil;
end

local function send_failed(session, xmlns, condition, h, text, previd)
	local failed = st.stanza("failed", { xmlns = xmlns, h = h and tostring(h) or nil, previd = previd });
	failed:tag(condition, { xmlns = xmlns_errors }):up();
	if text then failed:tag("text", { xmlns = xmlns_errors }):text(text):up(); end
	session.send(failed);
end

---------------------------------------------------------------------------------------------
-- Old sessions: the h of expired sessions, kept in storage so it survives a restart
---------------------------------------------------------------------------------------------

-- One write, no read: expiring a hundred thousand sessions at once must not also read a
-- hundred thousand lists. The list is trimmed to the newest smacks_max_old_sessions when the
-- user next enables stream management (as Prosody does) and at lookup.
local function remember_h(username, token, h)
	local ok, err = old_session_map:set(username, token, { h = h, t = os_time() });
	if not ok then module:log("warn", "Could not save the h of expired session %s: %s", token, err); end
end

local function newest_first(all)
	local tokens = {};
	for t in pairs(all) do tokens[#tokens + 1] = t; end
	table.sort(tokens, function(a, b) return (all[a].t or 0) > (all[b].t or 0); end);
	return tokens;
end

local function trim_old_sessions(username)
	local all = old_sessions:get(username);
	if not all then return; end
	local tokens = newest_first(all);
	if #tokens <= max_old_sessions then return; end
	for i = max_old_sessions + 1, #tokens do all[tokens[i]] = nil; end
	old_sessions:set(username, all);
end

local function take_old_h(username, token)
	local all = old_sessions:get(username);
	local entry = all and all[token];
	if not entry then return nil; end
	old_session_map:set(username, token, nil);
	-- Only the newest smacks_max_old_sessions count, trimmed or not yet.
	for rank, t in ipairs(newest_first(all)) do
		if t == token then return rank <= max_old_sessions and entry.h or nil; end
	end
	return nil;
end

---------------------------------------------------------------------------------------------
-- Ending sessions: what happens to unacknowledged stanzas
---------------------------------------------------------------------------------------------

-- True when the session is the account's only resource (so a message has nowhere else to go).
local function is_last_session(session)
	local bare = prosody.bare_sessions[session.username .. "@" .. session.host];
	if not bare then return true; end
	for resource in pairs(bare.sessions) do
		if resource ~= session.resource then return false; end
	end
	return true;
end

-- Hands each stanza to "delivery/failure"; whatever nobody takes is bounced.
local function fail_delivery(session, unacked)
	for _, stanza in ipairs(unacked) do
		if not module:fire_event("delivery/failure", { session = session, stanza = stanza }) then
			local stanza_type = stanza.attr.type;
			-- Errors are never answered with errors, results need no answer, and the
			-- session's own outgoing copies (carbons) have nobody else to tell.
			if stanza_type ~= "error" and stanza_type ~= "result" and stanza.attr.from ~= session.full_jid then
				module:send(st.error_reply(stanza, "cancel", "recipient-unavailable"));
			end
		end
	end
end

local function handle_unacked(session)
	local unacked = smacks.take_unacked(session);
	session.smacks = false;
	if #unacked == 0 then return; end
	session.log("debug", "Session ends with %d unacked stanzas", #unacked);
	fail_delivery(session, unacked);
end

-- Fired by the C# queue when the messages that fell off a full queue (never acknowledged) reach
-- the queue's own bound: they go where an ending session's would, so a client that never acks
-- cannot grow server memory.
-- The batch is handed over with what it needs of its session, copied now: storing it takes a
-- while, and the session may end meanwhile; with the live session table the rest of such a
-- batch was lost (never stored, in issue 16's never-acking test).
module:hook("smacks-queue-spilled", function (event)
	local session = event.session;
	fail_delivery({
		type = session.type, username = session.username, host = session.host, resource = session.resource,
		full_jid = session.full_jid, mam_requested = session.mam_requested, log = session.log,
	}, event.stanzas);
end);

-- Messages: MAM results need nothing (the archive has them); messages the client will fetch
-- from its archive need nothing; otherwise offline storage when this was the last resource.
module:hook("delivery/failure", function (event)
	local session, stanza = event.session, event.stanza;
	if not session.username or stanza.name ~= "message" or stanza.attr.xmlns ~= nil then return; end
	local message_type = stanza.attr.type or "normal";
	if message_type ~= "chat" and message_type ~= "normal" then return; end
	if stanza:get_child("result", xmlns_mam2) then return true; end
	if session.mam_requested then
		local bare = session.username .. "@" .. session.host;
		if stanza:get_child_with_attr("stanza-id", "urn:xmpp:sid:0", "by", bare) then return true; end
	end
	if is_last_session(session) then
		return module:fire_event("message/offline/handle", {
			origin = session, username = session.username, stanza = stanza,
		});
	end
end);

-- Takes the session off its user's hibernating list; true if it was there.
local function forget_hibernating(session)
	local list = session.username and hibernating_by_user[session.username];
	if not list then return false; end
	local found = false;
	for i = #list, 1, -1 do
		if list[i] == session then
			table.remove(list, i);
			found = true;
		end
	end
	if #list == 0 then hibernating_by_user[session.username] = nil; end
	if found then hibernating_count = hibernating_count - 1; end
	return found;
end

-- Whatever watchdog the session holds now: ours, or one a module put in its place (mod_cloud_notify
-- installs a util.watchdog), so only the util.watchdog method, cancel, is called.
local function stop_watchdog(session)
	local watchdog = session.hibernating_watchdog;
	if watchdog then
		session.hibernating_watchdog = nil;
		watchdog:cancel();
	end
end

local function revoke_token(session)
	local token = session.resumption_token;
	if not token then return nil; end
	registry[registry_key(session.username, token)] = nil;
	session.resumption_token = nil;
	return token;
end

-- Ends a resumable session for good (hibernation timeout, eviction, failed resume, shutdown):
-- its h is kept for a late <resume/>, then it is destroyed as an ordinary disconnect.
local function expire(session, reason)
	if session.destroyed then return; end
	stop_watchdog(session);
	if forget_hibernating(session) then count("expired"); end
	local info = info_of(session);
	local token = revoke_token(session);
	if token and info then remember_h(session.username, token, info.h); end
	session.log("debug", "Ending stream-managed session: %s", reason);
	sessionmanager.destroy_session(session, reason);
end

-- Every destroyed stream-managed session passes here (expiry, clean close, replaced resource).
module:hook("pre-resource-unbind", function (event)
	local session = event.session;
	if not info_of(session) then return; end
	stop_watchdog(session);
	if forget_hibernating(session) then count("expired"); end
	revoke_token(session);
	session.hibernating = nil;
	handle_unacked(session);
end);

-- session:close() from a module: no resumption after that, and the client gets a last ack
-- (XEP-0198 §4, since version 1.5.2).
module:hook("pre-session-close", function (event)
	local session = event.session;
	local info = info_of(session);
	if not info then return; end
	revoke_token(session);
	smacks.set_resumable(session, false);
	if not info.hibernating then
		session.send(st.stanza("a", { xmlns = info.xmlns, h = tostring(info.h) }));
	end
end);

---------------------------------------------------------------------------------------------
-- Features and <enable/>
---------------------------------------------------------------------------------------------

module:hook("stream-features", function (event)
	local origin = event.origin;
	-- Offered once authenticated (alongside bind), as Prosody does.
	if origin.username and not info_of(origin) then
		event.features:tag("sm", { xmlns = xmlns_sm2 }):tag("optional"):up():up();
		event.features:tag("sm", { xmlns = xmlns_sm3 }):tag("optional"):up():up();
	end
end);

local function sm_error(condition, text, context)
	return errors.new({ type = "cancel", condition = condition, text = text }, context or {});
end

-- XEP-0198 §3 <enable/>, for the nonza and for Bind 2's inline enable (mod_sasl2_sm calls it as
-- Prosody's mod_smacks exports it): { type = "enabled", id, resume_max, session, finish } or
-- nil, util.error. Stream management is on once this returns; finish() has nothing left to do.
function do_enable(session, stanza, xmlns)
	xmlns = xmlns or stanza.attr.xmlns or xmlns_sm3;
	if info_of(session) then
		return nil, sm_error("unexpected-request", "Stream management is already enabled");
	end
	if not session.username then
		return nil, sm_error("service-unavailable", "Stream management is not available for this stream");
	end
	if not session.resource then
		return nil, sm_error("unexpected-request", "Client must bind a resource before enabling stream management");
	end

	local resume = stanza.attr.resume == "true" or stanza.attr.resume == "1";
	local max;
	if resume then
		-- XEP-0198 §5: the client may ask for a shorter (never a longer) resumption time.
		max = hibernation_time;
		local asked = tonumber(stanza.attr.max);
		if asked and asked > 0 and asked < max then max = math_floor(asked); end
	end
	smacks.enable(session, xmlns, resume, {
		max_queue = queue_size, max_unacked = max_unacked,
		max_inactive_unacked = max_inactive_unacked, max_ack_delay = max_ack_delay,
	});
	session.smacks = xmlns;
	trim_old_sessions(session.username);

	local token;
	if resume then
		token = new_id();
		registry[registry_key(session.username, token)] = session;
		session.resumption_token = token;
		session.smacks_max = max;
	end
	session.log("debug", "Stream management enabled (%s)%s", xmlns, resume and ", resumable" or "");
	return {
		type = "enabled", id = token, resume_max = max and tostring(max) or nil, session = session,
		finish = function() end,
	};
end

local function handle_enable(session, stanza, xmlns)
	local enabled, err = do_enable(session, stanza, xmlns);
	if not enabled then
		send_failed(session, xmlns, err.condition, nil, err.text);
		return true;
	end
	session.send(st.stanza("enabled", {
		xmlns = xmlns, id = enabled.id, resume = enabled.id and "true" or nil, max = enabled.resume_max,
	}));
	return true;
end

module:hook("stanza/" .. xmlns_sm3 .. ":enable", function (event) return handle_enable(event.origin, event.stanza, xmlns_sm3); end, 100);
module:hook("stanza/" .. xmlns_sm2 .. ":enable", function (event) return handle_enable(event.origin, event.stanza, xmlns_sm2); end, 100);

---------------------------------------------------------------------------------------------
-- Hibernation
---------------------------------------------------------------------------------------------

local function hibernate(session)
	smacks.hibernate(session);
	session.hibernating = os_time();
	-- The session's idle util.async runner (a coroutine and its stack) is made again on the
	-- next stanza after a resume; a hibernating session handles none, so it is not kept.
	local thread = rawget(session, "thread");
	if type(thread) == "table" and thread.state == "ready" then rawset(session, "thread", nil); end
	local timeout = session.smacks_max or hibernation_time;
	-- Shaped like Prosody 0.12's (a util.watchdog: timeout, callback, cancel). mod_cloud_notify
	-- reads timeout and callback, cancels it and installs a longer util.watchdog that calls the
	-- callback later, then after the first push one with this timeout again: the callback ends
	-- the session whichever watchdog calls it, as long as it still hibernates.
	local function on_timeout()
		if session.hibernating and not session.destroyed then
			session.hibernating_watchdog = nil;
			expire(session, "Hibernating too long");
		end
	end
	local timer = module:add_timer(timeout, on_timeout);
	session.hibernating_watchdog = {
		timeout = timeout;
		callback = on_timeout;
		cancel = function () timer:stop(); end;
		reset = function () timer:reschedule(timeout); end;
	};

	local list = hibernating_by_user[session.username];
	if not list then list = {}; hibernating_by_user[session.username] = list; end
	list[#list + 1] = session;
	hibernating_count = hibernating_count + 1;
	count("hibernated");
	session.log("debug", "Connection lost; hibernating for up to %d s", timeout);
	-- The queue is copied into a Lua table only for a handler to read: nobody hooks this event in
	-- a default deployment, and a cut of 50 sessions with 100 messages each would otherwise copy
	-- 5 000 stanzas on the loop thread while their clients reconnect (docs/PERFORMANCE.md).
	local event = { origin = session };
	if host_events.get_handlers("smacks-hibernation-start") then event.queue = smacks.queue(session); end
	module:fire_event("smacks-hibernation-start", event);

	-- Beyond smacks_max_hibernated_sessions the oldest hibernating sessions end (their h is kept).
	while #list > max_hibernated do
		expire(list[1], "Too many hibernating sessions");
	end
end

-- The connection dropped without a clean close: a resumable session hibernates instead of ending.
module:hook("c2s-ondisconnect", function (event)
	local session = event.session;
	if session.destroyed or session.hibernating then return; end
	local info = info_of(session);
	if not (info and info.resumable and session.resumption_token) then return; end
	if info.overflowed then
		-- It could not be resumed: end it now (h kept), its messages go to offline storage.
		expire(session, "Stream management queue overflowed");
		return true;
	end
	hibernate(session);
	return true;
end);

-- Fired by the C# queue when it first overflows: a hibernating session can no longer be
-- resumed, so there is no point holding it (and its queue) any longer.
module:hook("smacks-queue-overflow", function (event)
	local session = event.origin;
	if session.hibernating then expire(session, "Stream management queue overflowed"); end
end);

---------------------------------------------------------------------------------------------
-- <resume/>
---------------------------------------------------------------------------------------------

-- The checks before a resumption: the hibernating (or still connected) session, and h; or nil,
-- util.error (context.h: the h of an expired session, XEP-0198 §5 <failed h=…/>).
local function find_resumable(session, stanza)
	local previd = stanza.attr.previd;
	if session.full_jid then
		return nil, sm_error("unexpected-request", "A session cannot be resumed after resource binding");
	end
	if not session.username or not previd then
		return nil, sm_error("item-not-found", "Unknown session");
	end
	-- h is an xs:unsignedInt (XEP-0198 §4): digits only, at most 2^32 - 1. Anything else must
	-- not reach the session (a wrapped or rounded h would resume it with the wrong count).
	local h_text = stanza.attr.h;
	local h = h_text and h_text:match("^%d+$") and tonumber(h_text);
	if not h or h > 4294967295 then
		return nil, sm_error("bad-request", "The 'h' attribute is missing or invalid");
	end

	-- Tokens are looked up under the authenticated user, so another user's token is unknown here.
	local original = registry[registry_key(session.username, previd)];
	if not original or original.destroyed then
		local old_h = take_old_h(session.username, previd);
		if old_h then return nil, sm_error("item-not-found", "The session expired", { h = old_h }); end
		return nil, sm_error("item-not-found", "Unknown session");
	end

	local ok, condition, text = smacks.check_resume(original, h);
	if not ok then
		local info = info_of(original);
		expire(original, "Resumption failed: " .. tostring(text));
		return nil, sm_error(condition, text, { h = info and info.h, previd = previd });
	end
	return original, h, previd;
end

-- Moves `original` onto the resuming session's connection (inline: without <resumed/> and the
-- re-send, which follow the SASL2 <success/>).
local function take_over(original, session, h, previd, inline)
	stop_watchdog(original);
	if forget_hibernating(original) then count("resumed"); end
	local age = original.hibernating and (os_time() - original.hibernating) or 0;
	smacks.resume(original, session, h, previd, inline);
	original.hibernating = nil;
	original.resumption_counter = (original.resumption_counter or 0) + 1;
	original.log("debug", "Resumed after %d s", age);
end

-- XEP-0198 §5 <resume/> inside a SASL2 <authenticate/> (mod_sasl2_sm calls it as Prosody's
-- mod_smacks exports it): { type = "resumed", session = original, id, finish } or nil,
-- util.error. finish() re-sends the unacked stanzas once the <success/> is out; the re-send
-- fires "smacks-hibernation-end" when it is done, as for <resume/>.
function do_resume(session, stanza)
	local original, h, previd = find_resumable(session, stanza);
	if not original then return nil, h; end
	take_over(original, session, h, previd, true);
	local info = info_of(original);
	-- What mod_sasl2_sm puts in <resumed h=…/>: the count at this moment (C# keeps the live one).
	original.handled_stanza_count = info and info.h or 0;
	return {
		type = "resumed", session = original, id = previd,
		finish = function() smacks.resync(original); end,
	};
end

local function handle_resume(session, stanza, xmlns)
	local original, h, previd = find_resumable(session, stanza);
	if not original then
		local err = h;
		send_failed(session, xmlns, err.condition, err.context.h, err.text, err.context.previd);
		return true;
	end
	-- <resumed/> is queued here; the re-send follows once it is written, in slices, and then
	-- "smacks-hibernation-end" fires (src/Core/StreamManagement), so nothing after <resumed/>,
	-- such as the queue as a Lua table for that event, delays it.
	take_over(original, session, h, previd, false);
	return true;
end

module:hook("stanza/" .. xmlns_sm3 .. ":resume", function (event) return handle_resume(event.origin, event.stanza, xmlns_sm3); end);
module:hook("stanza/" .. xmlns_sm2 .. ":resume", function (event) return handle_resume(event.origin, event.stanza, xmlns_sm2); end);

---------------------------------------------------------------------------------------------
-- Client state (XEP-0352) and shutdown
---------------------------------------------------------------------------------------------

module:hook("csi-client-inactive", function (event)
	local session = event.origin or event.session;
	if info_of(session) then smacks.set_inactive(session, true); end
end);

module:hook("csi-client-active", function (event)
	local session = event.origin or event.session;
	if info_of(session) then
		smacks.set_inactive(session, false);
		smacks.request_ack(session, true);
	end
end);

module:hook("csi-flushing", function (event)
	local session = event.session or event.origin;
	if info_of(session) then smacks.request_ack(session, false); end
end);

-- A clean shutdown treats every resumable session as expired: h is kept for the client's
-- <resume/> after the restart, and unacked stanzas go to offline storage (or bounce).
module:hook_global("server-stopping", function ()
	local sessions = {};
	for _, session in pairs(registry) do sessions[#sessions + 1] = session; end
	local hibernated, live = 0, 0;
	for _, session in ipairs(sessions) do
		if session.hibernating then
			hibernated = hibernated + 1;
			expire(session, "Server shutting down");
		else
			live = live + 1;
			local info = info_of(session);
			local token = revoke_token(session);
			if token and info then remember_h(session.username, token, info.h); end
			handle_unacked(session);
		end
	end
	if hibernated + live > 0 then
		module:log("info", "Server shutting down: ended %d hibernating and %d connected resumable sessions (h kept, unacknowledged messages to offline storage)",
			hibernated, live);
	end
end, -90);

function module.unload()
	for _, session in pairs(registry) do
		if session.hibernating then expire(session, "mod_smacks unloaded"); end
	end
end
