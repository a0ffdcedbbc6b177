-- luaxmpp.smacks: XEP-0198 stream management kept natively per session (the queue, the
-- counters, hibernation and the resume transplant live in C#, LuaRuntime.StreamManagement.cs),
-- for mod_smacks. Every function takes the session table first; a primitive's failure is
-- raised as a Lua error naming the function ("smacks.resume: ...").
--
--   local smacks = require "luaxmpp.smacks";
--   smacks.enable(session, xmlns, resumable, { max_queue = 500, max_unacked = 0, ... });
--   local info = smacks.info(session);          -- nil, or { enabled, h, ... }
--   local ok, condition, text = smacks.check_resume(original, h);
local check = require "luaxmpp.check";
local arg, raise = check.arg, check.raise;

local sm_enable, sm_info, sm_queue, sm_take_unacked, sm_hibernate, sm_check_resume, sm_resume, sm_resync,
	sm_request_ack, sm_set_inactive, sm_set_resumable, sm_set_counters = check.area("smacks",
	"sm_enable", "sm_info", "sm_queue", "sm_take_unacked", "sm_hibernate", "sm_check_resume", "sm_resume", "sm_resync",
	"sm_request_ack", "sm_set_inactive", "sm_set_resumable", "sm_set_counters");

local M = {};

-- enable(session, xmlns, resumable, limits): limits = { max_queue, max_unacked,
-- max_inactive_unacked, max_ack_delay } (counts and seconds, as mod_smacks' options).
function M.enable(session, xmlns, resumable, limits)
	arg("smacks.enable", 1, session, "session");
	arg("smacks.enable", 2, xmlns, "string");
	arg("smacks.enable", 4, limits, "table");
	return raise("smacks.enable", sm_enable(session, xmlns, resumable and true or false, limits.max_queue,
		limits.max_unacked, limits.max_inactive_unacked, limits.max_ack_delay));
end

-- info(session) → nil when stream management is off, else a table of counters and flags.
function M.info(session)
	arg("smacks.info", 1, session, "session");
	return raise("smacks.info", sm_info(session));
end

-- queue(session) → array of the unacked stanzas (Prosody's queue:table()).
function M.queue(session)
	arg("smacks.queue", 1, session, "session");
	return raise("smacks.queue", sm_queue(session));
end

-- take_unacked(session) → array; stream management is off afterwards (the session is ending).
function M.take_unacked(session)
	arg("smacks.take_unacked", 1, session, "session");
	return raise("smacks.take_unacked", sm_take_unacked(session));
end

function M.hibernate(session)
	arg("smacks.hibernate", 1, session, "session");
	return raise("smacks.hibernate", sm_hibernate(session));
end

-- check_resume(original, h) → true, or false, condition, text (XEP-0198 §5).
function M.check_resume(original, h)
	arg("smacks.check_resume", 1, original, "session");
	arg("smacks.check_resume", 2, h, "number|string");
	return raise("smacks.check_resume", sm_check_resume(original, h));
end

-- resume(original, resuming, h, previd, inline): moves original onto resuming's connection;
-- inline (SASL2) leaves <resumed/> and the re-send to resync.
function M.resume(original, resuming, h, previd, inline)
	arg("smacks.resume", 1, original, "session");
	arg("smacks.resume", 2, resuming, "session");
	arg("smacks.resume", 3, h, "number|string");
	arg("smacks.resume", 4, previd, "string", true);
	return raise("smacks.resume", sm_resume(original, resuming, h, previd, inline and true or false));
end

-- resync(original): the re-send of an inline resume, once <success/> is queued.
function M.resync(original)
	arg("smacks.resync", 1, original, "session");
	return raise("smacks.resync", sm_resync(original));
end

-- request_ack(session, force): sends <r/> when due (or now, when force).
function M.request_ack(session, force)
	arg("smacks.request_ack", 1, session, "session");
	return raise("smacks.request_ack", sm_request_ack(session, force and true or false));
end

-- set_inactive(session, inactive): XEP-0352 state, which changes when <r/> is due.
function M.set_inactive(session, inactive)
	arg("smacks.set_inactive", 1, session, "session");
	return raise("smacks.set_inactive", sm_set_inactive(session, inactive and true or false));
end

function M.set_resumable(session, resumable)
	arg("smacks.set_resumable", 1, session, "session");
	return raise("smacks.set_resumable", sm_set_resumable(session, resumable and true or false));
end

-- set_counters(session, h_in, h_out): diagnostics and the 2^32 wrap-around tests.
function M.set_counters(session, h_in, h_out)
	arg("smacks.set_counters", 1, session, "session");
	arg("smacks.set_counters", 2, h_in, "number|string");
	arg("smacks.set_counters", 3, h_out, "number|string");
	return raise("smacks.set_counters", sm_set_counters(session, h_in, h_out));
end

return M;
