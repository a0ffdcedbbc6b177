-- util.async for LuaXmpp: coroutine "runners" that process queued work items in order and may
-- pause while waiting (waiter(), sleep(), wait_for(promise)). A runner's state is "ready"
-- (idle), "running" or "waiting"; watchers (ready, waiting, error) are told of changes.
-- Code calling wait() must run inside a runner's coroutine.
local logger = require "util.logger";
local new_id = require "util.id".short;

local log = logger.init("util.async");

-- thread -> runner, so a resumed waiter can find its runner. Weak keys only (an ephemeron
-- table): a runner lives as long as its thread can still be resumed (a waiter's done() holds the
-- thread), even when nothing else refers to the runner, as with a pooled runner that waits.
local runner_of = setmetatable({}, { __mode = "k" });

local schedule_task = nil;  -- function(seconds, callback)
local next_tick = function(f) f(); end;

local function current_thread()
	local thread, is_main = coroutine.running();
	-- As Prosody's: a plain coroutine (an iterator, a module's own) is no async context.
	if not thread or is_main or not runner_of[thread] then
		error("Not running in an async context, see https://prosody.im/doc/developers/util/async", 3);
	end
	return thread;
end

local function notify(runner, watcher_name, ...)
	local watcher = runner.watchers[watcher_name];
	if not watcher then return false; end
	local ok, err = xpcall(watcher, debug.traceback, runner, ...);
	if not ok then
		runner:log("error", "Error in '%s' watcher: %s", watcher_name, err);
		return nil, err;
	end
	return true;
end

-- Resumes a waiting runner thread after whatever it waited for happened.
local function continue(thread)
	if coroutine.status(thread) ~= "suspended" then
		log("error", "unexpected async state: thread not suspended");
		return false;
	end
	local runner = runner_of[thread];
	local ok, state = coroutine.resume(thread);
	if not runner then
		log("error", "unexpected async state: no runner for thread");
		return false;
	end
	if not ok then
		notify(runner, "error", debug.traceback(thread, state));
		runner.thread = nil;
		runner.state = "ready";
		return runner:run();
	elseif state == "ready" then
		-- The work item finished; go on with the queue.
		next_tick(function()
			runner.state = "ready";
			runner:run();
		end);
	end
	return true;
end

-- Returns wait() and done(): wait() pauses the runner until done() was called num times.
local function waiter(num, allow_many)
	local thread = current_thread();
	num = num or 1;
	local waiting = false;
	local function wait()
		if num <= 0 then return; end
		waiting = true;
		coroutine.yield("wait");
	end
	local function done()
		num = num - 1;
		if num == 0 and waiting then
			waiting = false;
			continue(thread);
		elseif num < 0 and not allow_many then
			error("done() called too many times", 2);
		end
	end
	return wait, done;
end

-- A guard lets one runner at a time through per id; others wait in line.
local function guarder()
	local lines = {};
	local default_id = {};
	return function(id, func)
		id = id or default_id;
		local thread = current_thread();
		local line = lines[id];
		if not line then
			lines[id] = {};
		else
			line[#line + 1] = thread;
			coroutine.yield("wait");
		end
		local function leave()
			local waiting = lines[id];
			local next_thread = table.remove(waiting, 1);
			if next_thread then continue(next_thread); else lines[id] = nil; end
		end
		if func then
			func();
			leave();
			return nil;
		end
		return leave;
	end;
end

local function sleep(seconds)
	local schedule = schedule_task;
	if not schedule then
		local ok, timer = pcall(require, "util.timer");
		if ok and timer and timer.add_task then
			schedule = timer.add_task;
		else
			error("async.sleep() is not available - configure schedule function", 2);
		end
	end
	local wait, done = waiter();
	schedule(seconds, function() done(); end);
	wait();
end

local runner_mt = {};
runner_mt.__index = runner_mt;

local function spawn(runner)
	local func = runner.func;
	-- A work item's first two results go out with the next "ready" yield: a runner C# resumes
	-- itself (core/bridge.lua, session runners) gets a walk's outcome there; runner:run and
	-- continue look at the first value only.
	local thread = coroutine.create(function()
		local a, b;
		while true do
			a, b = func(coroutine.yield("ready", a, b));
		end
	end);
	runner_of[thread] = runner;
	-- Carry the state's instruction-budget hook into the new coroutine.
	local hook, mask, count = debug.gethook();
	if hook then debug.sethook(thread, hook, mask, count); end
	assert(coroutine.resume(thread)); -- runs up to the first yield
	return thread;
end

local function default_error_watcher(runner, err)
	runner:log("error", "Encountered error: %s", err);
	error(err);
end

local function default_func(f) f(); end

local function runner(func, watchers, data)
	local id = new_id();
	return setmetatable({
		func = func or default_func;
		thread = false;
		state = "ready";
		notified_state = "ready";
		queue = {};
		watchers = watchers or { error = default_error_watcher };
		data = data;
		id = id;
		_log = logger.init("runner" .. id);
	}, runner_mt);
end

-- Queues input (if any) and, unless the runner is busy, processes the queue until it is
-- empty or a work item waits. Returns true, state, number of items still queued.
function runner_mt:run(input)
	if input ~= nil then self.queue[#self.queue + 1] = input; end
	if self.state ~= "ready" then
		return true, self.state, #self.queue;
	end
	local queue = self.queue;
	local state, err = "ready", nil;
	self.state = "running";
	while #queue > 0 and state == "ready" and not err do
		local thread = self.thread;
		if not thread or coroutine.status(thread) == "dead" then
			thread = spawn(self);
			self.thread = thread;
		end
		local item = table.remove(queue, 1);
		local ok, yielded = coroutine.resume(thread, item);
		if not ok then
			err = debug.traceback(thread, yielded);
			self.thread = nil;
		elseif yielded == "wait" then
			state = "waiting";
		end
	end
	self.state = state;
	if err or state ~= self.notified_state then
		local event = state;
		if err then event = "error"; else self.notified_state = state; end
		local watcher = self.watchers[event];
		if watcher then watcher(self, err); end
	end
	if #queue > 0 and self.state == "ready" then
		return self:run();
	end
	return true, self.state, #queue;
end

function runner_mt:enqueue(input)
	self.queue[#self.queue + 1] = input;
	return self;
end

function runner_mt:log(level, fmt, ...)
	return self._log(level, fmt, ...);
end

function runner_mt:onready(f) self.watchers.ready = f; return self; end
function runner_mt:onwaiting(f) self.watchers.waiting = f; return self; end
function runner_mt:onerror(f) self.watchers.error = f; return self; end

local function ready()
	return pcall(current_thread);
end

-- Waits for a promise; returns its value, or nil and the rejection reason.
local function wait_for(promise)
	local wait, done = waiter();
	local value, reason;
	promise:next(function(v) value = v; end, function(e) reason = e; end):finally(done);
	wait();
	if value ~= nil then return value; end
	return nil, reason;
end

-- Runs f(...) in a fresh runner; convenient for code that needs an async context.
local function once(f, ...)
	local args = table.pack(...);
	local r = runner(function() f(table.unpack(args, 1, args.n)); end);
	r:run(true);
	return r;
end

return {
	ready = ready;
	waiter = waiter;
	guarder = guarder;
	runner = runner;
	wait = wait_for;
	wait_for = wait_for;
	sleep = sleep;
	once = once;
	set_nexttick = function(f) next_tick = f; end;
	set_schedule_function = function(f) schedule_task = f; end;
};
