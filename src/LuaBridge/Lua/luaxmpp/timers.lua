-- luaxmpp.timers: timers on the server loop (LuaRuntime.Timers.cs), for net.server's
-- add_task/timer (and through it util.timer) and module:add_timer. A callback runs on the loop
-- inside a runner, so it may wait; its return value is the next delay in seconds, or nil to stop.
--
--   local timers = require "luaxmpp.timers";
--   local id = timers.add(5, function(now) ...; return 60; end);
--   timers.reschedule(id, 1); timers.stop(id);
local check = require "luaxmpp.check";
local arg, raise = check.arg, check.raise;

local add_timer, stop_timer, reschedule_timer = check.area("timers", "add_timer", "stop_timer", "reschedule_timer");

local M = {};

-- add(delay, callback) → id; callback(now) runs after delay seconds.
function M.add(delay, callback)
	arg("timers.add", 1, delay, "number|string");
	arg("timers.add", 2, callback, "callback");
	return raise("timers.add", add_timer(delay, callback));
end

-- stop(id): the timer never fires again (a stopped or unknown id, or nil, is ignored).
function M.stop(id)
	if arg("timers.stop", 1, id, "integer", true) == nil then return nil; end
	return stop_timer(id);
end

-- reschedule(id, delay): fires delay seconds from now instead.
function M.reschedule(id, delay)
	if arg("timers.reschedule", 1, id, "integer", true) == nil then return nil; end
	arg("timers.reschedule", 2, delay, "number");
	return reschedule_timer(id, delay);
end

return M;
