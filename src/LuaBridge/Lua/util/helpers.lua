-- util.helpers: debugging aids the admin shell offers (debug:logevents, debug:events): log every
-- event fired on a bus, list a bus's handlers, read a function's upvalue.
local logger = require "util.logger";

local wrapped = setmetatable({}, { __mode = "k" }); -- events object → original fire_event

local function log_events(events, name, log)
	if wrapped[events] then return false; end
	log = log or logger.init(name or "events");
	local original = events.fire_event;
	wrapped[events] = original;
	events.fire_event = function(event, data)
		log("debug", "Event: %s", tostring(event));
		return original(event, data);
	end
	return true;
end

local function revert_log_events(events)
	local original = wrapped[events];
	if not original then return false; end
	events.fire_event, wrapped[events] = original, nil;
	return true;
end

local function log_host_events(host)
	return log_events(prosody.hosts[host].events, host);
end

local function revert_log_host_events(host)
	return revert_log_events(prosody.hosts[host].events);
end

-- Text listing the handlers (by priority) of one event, or of every event, on a bus.
local function show_events(events, specific_event)
	local handlers = events._handlers or events.handlers or {};
	local lines = {};
	local names = {};
	for event in pairs(handlers) do
		if specific_event == nil or event == specific_event then names[#names + 1] = tostring(event); end
	end
	table.sort(names);
	for _, event in ipairs(names) do
		lines[#lines + 1] = event;
		local list = handlers[event];
		if type(list) == "table" then
			for _, handler in ipairs(list) do lines[#lines + 1] = "  " .. tostring(handler); end
		end
	end
	return table.concat(lines, "\n");
end

local function get_upvalue(f, wanted)
	for i = 1, math.huge do
		local name, value = debug.getupvalue(f, i);
		if name == nil then return nil; end
		if name == wanted then return value, i; end
	end
end

return {
	log_events = log_events;
	revert_log_events = revert_log_events;
	log_host_events = log_host_events;
	revert_log_host_events = revert_log_host_events;
	show_events = show_events;
	get_upvalue = get_upvalue;
};
