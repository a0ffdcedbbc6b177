-- util.logger for LuaXmpp: named loggers feeding per-level sinks.
--   local log = require "util.logger".init("name");  log("info", "fmt %s", x)
-- Sinks are function(source, level, fmt, ...). With no sink added for a level, messages go
-- to the writer: by default the bridge's native _luaxmpp_log(level, source, message) when
-- that global exists, else print. setwriter replaces the writer.
local levels = { "debug", "info", "warn", "error" };

local sinks = {};  -- level -> array of sink functions
for _, level in ipairs(levels) do sinks[level] = {}; end

local format;  -- util.format, loaded on first use (it depends on libraries that log)

local function default_writer(source, level, message)
	local native = rawget(_G, "_luaxmpp_log");
	if type(native) == "function" then
		native(level, source, message);
	else
		print(("%s\t%s\t%s"):format(source, level, message));
	end
end

local writer = default_writer;

local function emit(source, level, fmt, ...)
	local list = sinks[level];
	if list and #list > 0 then
		for i = 1, #list do list[i](source, level, fmt, ...); end
		return;
	end
	format = format or require "util.format".format;
	local ok, message = pcall(format, tostring(fmt), ...);
	if not ok then message = tostring(fmt); end
	writer(source, level, message);
end

local function make_logger(source, level)
	if not sinks[level] then sinks[level] = {}; end
	return function(fmt, ...) return emit(source, level, fmt, ...); end;
end

local function init(source)
	return function(level, fmt, ...)
		if sinks[level] then return emit(source, level, fmt, ...); end
	end;
end

local function reset()
	for level in pairs(sinks) do sinks[level] = {}; end
end

local function add_level_sink(level, sink)
	local list = sinks[level];
	if not list then
		list = {};
		sinks[level] = list;
	end
	list[#list + 1] = sink;
end

-- A simple sink receives (source, level, formatted_message).
local function add_simple_sink(simple_sink, sink_levels)
	local function sink(source, level, fmt, ...)
		format = format or require "util.format".format;
		return simple_sink(source, level, format(fmt, ...));
	end
	for _, level in ipairs(sink_levels or levels) do add_level_sink(level, sink); end
end

-- writer(source, level, message); nil restores the default.
local function setwriter(new_writer)
	local previous = writer;
	writer = new_writer or default_writer;
	return previous;
end

return {
	init = init;
	make_logger = make_logger;
	new = make_logger;
	reset = reset;
	add_level_sink = add_level_sink;
	add_simple_sink = add_simple_sink;
	setwriter = setwriter;
};
