-- mod_cron for LuaXmpp: the periodic-task service that Prosody 0.12's core provides through its
-- own mod_cron, so that module:hourly/daily/weekly (moduleapi) work without Prosody's file on
-- the plugin path (Prosody's mod_mam uses module:daily for its archive expiry).
--
-- Facts kept from Prosody 0.12 (so data and behaviour carry over): tasks are "task" host items
-- { name, when = "hourly" | "daily" | "weekly", run = function(task, started_at) }; a task's id
-- is "<module>/<name with non-word characters as _, lower case>"; the time of its last run
-- (Unix seconds, when it started) is kept in the host's "cron" map store under that id (user
-- nil); a task never run counts as run at the start of the current period; a task is due when
-- 99.5 % of its period has passed since its last run, so tasks overdue at start-up run shortly
-- after the server starts. Tasks run one after another in a util.async runner (our timers run
-- in one), so a task may wait for storage; a task that raises is logged with its id and the
-- others go on.

module:set_global();

local datetime = require "util.datetime";

local periods = { hourly = 3600, daily = 86400, weekly = 7 * 86400 };
local first_check, max_check = 1, 3600;

local hosts = {}; -- host -> { store = map store, tasks = { [task] = true } }

local function task_id(task, source)
	local owner = type(source) == "table" and source.name or task.module_name or "task";
	return owner .. "/" .. tostring(task.name):gsub("%W", "_"):lower();
end

local function is_due(task, now)
	return task.last + periods[task.when] * 0.995 <= now;
end

function module.add_host(host_module)
	local state = { store = host_module:open_store("cron", "map"), tasks = {} };
	hosts[host_module.host] = state;

	local function save(task, started_at)
		local ok, err = state.store:set(nil, task.id, started_at);
		if not ok then host_module:log("warn", "Could not save the last run of task %s: %s", task.id, tostring(err)); end
	end

	host_module:handle_items("task", function (event)
		local task = event.item;
		if not periods[task.when] then
			host_module:log("error", "Task %s has an unknown period %q; ignored", tostring(task.name), tostring(task.when));
			return true;
		end
		if task.name == nil then task.name = task.when; end
		if task.id == nil then task.id = task_id(task, event.source); end
		task.save = save;
		-- Its last run is read by the first check (in a runner, where storage may wait):
		-- item-added can come from C# callers that cannot wait.
		state.tasks[task] = true;
		host_module:log("debug", "%s task %s added", task.when, task.id);
		return true;
	end, function (event)
		local task = event.item;
		state.tasks[task] = nil;
		host_module:log("debug", "Task %s removed", tostring(task.id));
		return true;
	end, true);

	function host_module.unload() hosts[host_module.host] = nil; end
end

-- A task's last run as Prosody keeps it; never run counts as run at the start of this period.
local function load_last(task, state)
	if task.last ~= nil then return; end
	local last = state.store:get(nil, task.id);
	module:log("debug", "Task %s last ran %s", task.id, last and datetime.datetime(last) or "never");
	if last == nil then
		local now = os.time();
		last = now - now % periods[task.when];
	end
	task.last = last;
end

local function run_task(task, now)
	local ok, err = pcall(task.run, task, now);
	if not ok then module:log("error", "Periodic task %s failed: %s", task.id, tostring(err)); end
	task.last = now;
	task:save(now);
end

-- Runs what is due, then sleeps until the next task is due (at most an hour).
module:add_timer(first_check, function ()
	local now = os.time();
	local next_due = now + max_check;
	for host, state in pairs(hosts) do
		for task in pairs(state.tasks) do
			load_last(task, state);
			if is_due(task, now) then
				module:log("debug", "Running %s task %s on %s", task.when, task.id, host);
				run_task(task, now);
			end
			next_due = math.min(next_due, math.ceil(task.last + periods[task.when] * 0.995));
		end
	end
	return math.max(first_check, next_due - os.time());
end);
