-- util.timer for LuaXmpp: add_task(delay, callback, param) → id; stop(id); reschedule(id, delay).
-- callback(now, id, param) runs on the Lua thread; returning a number schedules it again
-- that many seconds later.
--
-- Backends, in order:
--  1. net.server.timer, if a net.server module provides one (Prosody's own rule);
--  2. the bridge's native _luaxmpp_timer table:
--       _luaxmpp_timer.schedule(delay_seconds, fn) → handle   -- call fn() once, on the Lua
--                                                              thread, after delay_seconds
--       _luaxmpp_timer.cancel(handle)                          -- fn must then never run
--  3. otherwise a manual queue, advanced by timer._run_due(now) (used by tests).
local now = require "util.time".now;
local log = require "util.logger".init("timer");

local ok_server, server = pcall(require, "net.server");
if ok_server and type(server) == "table" and type(server.timer) == "table" then
	return server.timer;
end

local tasks = {};     -- id -> { callback, param, when, handle }
local next_id = 0;

local function native()
	local t = rawget(_G, "_luaxmpp_timer");
	if type(t) == "table" and type(t.schedule) == "function" then return t; end
	return nil;
end

local arm;

local function fire(id, t)
	local task = tasks[id];
	if not task then return; end
	task.handle = nil;
	t = t or now();
	local ok, again = xpcall(task.callback, debug.traceback, t, id, task.param);
	if tasks[id] ~= task then return; end  -- stopped or rescheduled by the callback
	if not ok then
		log("error", "Traceback[timer]: %s", again);
		tasks[id] = nil;
	elseif type(again) == "number" then
		task.when = t + again;
		arm(id, task, again);
	else
		tasks[id] = nil;
	end
end

function arm(id, task, delay)
	local backend = native();
	if backend then
		task.handle = backend.schedule(delay < 0 and 0 or delay, function() fire(id); end);
	end
end

local function disarm(task)
	local backend = native();
	if backend and task.handle ~= nil and backend.cancel then backend.cancel(task.handle); end
	task.handle = nil;
end

local function add_task(delay, callback, param)
	next_id = next_id + 1;
	local id = next_id;
	local task = { callback = callback, param = param, when = now() + delay };
	tasks[id] = task;
	arm(id, task, delay);
	return id;
end

local function stop(id)
	local task = tasks[id];
	if not task then return nil; end
	disarm(task);
	tasks[id] = nil;
	return task.param;
end

local function reschedule(id, delay)
	local task = tasks[id];
	if not task then return nil; end
	disarm(task);
	local replacement = { callback = task.callback, param = task.param, when = now() + delay };
	tasks[id] = replacement;
	arm(id, replacement, delay);
	return id;
end

-- Manual backend: runs every task due at time t (default: now). Returns how many ran.
local function run_due(t)
	t = t or now();
	local due = {};
	for id, task in pairs(tasks) do
		if task.handle == nil and task.when <= t then due[#due + 1] = id; end
	end
	table.sort(due, function(a, b) return tasks[a].when < tasks[b].when; end);
	for _, id in ipairs(due) do fire(id, t); end
	return #due;
end

return { add_task = add_task, stop = stop, reschedule = reschedule, _run_due = run_due };
