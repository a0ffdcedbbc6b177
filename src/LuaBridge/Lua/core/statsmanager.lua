-- core.statsmanager: Prosody 0.12's statistics API (measure, metric, collect,
-- get_metric_registry) with an OpenMetrics registry kept in Lua (all Lua runs on the loop
-- thread, so a sample is a table write). Enabled as on Prosody: by `statistics` or
-- `statistics_interval` in the global section; otherwise metric() hands out a no-op family
-- and get_metric_registry() returns nil (mod_http_openmetrics then answers 404).
-- collect() also fills the process, .NET runtime and native core families from
-- luaxmpp.metrics.snapshot().

local logger = require "luaxmpp.log";
local metrics = require "luaxmpp.metrics";
local time = require "luaxmpp.time";
local config = require "core.configmanager";

local registry_mt = {};
registry_mt.__index = registry_mt;

---------------------------------------------------------------------------------------------
-- Metrics: one per label set; each yields its samples as (suffix, extra labels, value).
---------------------------------------------------------------------------------------------

-- Gauges and counters hold one value; a counter renders as <family>_total (OpenMetrics
-- §4.1.2.3). Counters have set() because Prosody's legacy wrappers call set(0) so that the
-- sample appears before the first event.
local function value_metric_mt(suffix)
	local mt = {};
	mt.__index = mt;
	function mt:set(v) self.value = tonumber(v) or 0; end
	function mt:add(n) self.value = self.value + (tonumber(n) or 1); end
	function mt:reset() self.value = 0; end
	function mt:samples(emit) emit(suffix, nil, self.value); end
	return mt;
end
local gauge_mt, counter_mt = value_metric_mt(""), value_metric_mt("_total");

local function format_le(bound)
	if bound == math.huge then return "+Inf"; end
	return ("%.14g"):format(bound);
end

-- Histogram buckets are cumulative and end with le="+Inf", equal to _count (§4.1.2.5).
local histogram_mt = {};
histogram_mt.__index = histogram_mt;
function histogram_mt:sample(v)
	v = tonumber(v) or 0;
	self.sum, self.count = self.sum + v, self.count + 1;
	for i, bound in ipairs(self.buckets) do
		if v <= bound then self.counts[i] = self.counts[i] + 1; end
	end
end
function histogram_mt:reset()
	self.sum, self.count = 0, 0;
	for i in ipairs(self.counts) do self.counts[i] = 0; end
end
function histogram_mt:samples(emit)
	for i, bound in ipairs(self.buckets) do emit("_bucket", { le = format_le(bound) }, self.counts[i]); end
	emit("_bucket", { le = "+Inf" }, self.count);
	emit("_count", nil, self.count);
	emit("_sum", nil, self.sum);
end

-- A summary without quantiles: _count and _sum (§4.1.2.6).
local summary_mt = {};
summary_mt.__index = summary_mt;
function summary_mt:sample(v)
	self.sum, self.count = self.sum + (tonumber(v) or 0), self.count + 1;
end
function summary_mt:reset() self.sum, self.count = 0, 0; end
function summary_mt:samples(emit)
	emit("_count", nil, self.count);
	emit("_sum", nil, self.sum);
end

local constructors = {
	gauge = function() return setmetatable({ value = 0 }, gauge_mt); end;
	counter = function() return setmetatable({ value = 0 }, counter_mt); end;
	histogram = function(family)
		local counts = {};
		for i in ipairs(family.buckets) do counts[i] = 0; end
		return setmetatable({ buckets = family.buckets, counts = counts, sum = 0, count = 0 }, histogram_mt);
	end;
	summary = function() return setmetatable({ sum = 0, count = 0 }, summary_mt); end;
};

-- Starts a timer on a histogram/summary; the returned function records the seconds elapsed.
local function timed(metric)
	local started = time.monotonic();
	return function() metric:sample(time.monotonic() - started); end;
end
for _, mt in ipairs({ histogram_mt, summary_mt }) do
	mt.with_time = timed;
end

---------------------------------------------------------------------------------------------
-- Families
---------------------------------------------------------------------------------------------

local family_mt = {};
family_mt.__index = family_mt;

function family_mt:with_labels(...)
	local n = select("#", ...);
	if n ~= #self.label_keys then
		error(("metric %s takes %d label(s), got %d"):format(self.name, #self.label_keys, n), 2);
	end
	local values = { ... };
	for i = 1, n do values[i] = tostring(values[i]); end
	local key = table.concat(values, "\0");
	local metric = self.metrics[key];
	if not metric then
		metric = constructors[self.type](self);
		self.metrics[key] = metric;
		self.label_values[key] = values;
	end
	return metric;
end

-- The fixed values followed by the call's own, as one argument list.
local function joined(fixed, ...)
	local rest = table.pack(...);
	local all = {};
	for i = 1, fixed.n do all[i] = fixed[i]; end
	for i = 1, rest.n do all[fixed.n + i] = rest[i]; end
	return table.unpack(all, 1, fixed.n + rest.n);
end

-- A view with the first label values fixed; with_labels on it takes the rest.
function family_mt:with_partial_label(...)
	local fixed = table.pack(...);
	local parent = self;
	local view = {};
	function view.with_labels(_, ...) return parent:with_labels(joined(fixed, ...)); end
	function view.with_partial_label(_, ...) return parent:with_partial_label(joined(fixed, ...)); end
	return setmetatable(view, { __index = parent });
end

function family_mt:clear()
	self.metrics, self.label_values = {}, {};
end

function family_mt:iter_metrics()
	local key, metric;
	return function()
		key, metric = next(self.metrics, key);
		if key ~= nil then return self.label_values[key], metric; end
	end;
end

local default_buckets = { 0.001, 0.01, 0.1, 1.0, 10.0, 100.0 };

local function new_registry()
	return setmetatable({ families = {} }, registry_mt);
end

-- Prosody's rule: a unit is part of the family name, appended as _<unit>.
local function add_family(self, type_, name, unit, description, label_keys, extra)
	unit = unit or "";
	local full_name = unit ~= "" and (name .. "_" .. unit) or name;
	local existing = self.families[full_name];
	if existing then
		if existing.type ~= type_ then
			error(("metric family %s registered again as %s (was %s)"):format(full_name, type_, existing.type), 3);
		end
		return existing;
	end
	local keys = {};
	for i, k in ipairs(label_keys or {}) do keys[i] = k; end
	local buckets;
	if type_ == "histogram" then
		buckets = {};
		for i, b in ipairs(extra and extra.buckets or default_buckets) do buckets[i] = b; end
		table.sort(buckets);
	end
	local family = setmetatable({ name = full_name, type = type_, type_ = type_, unit = unit,
		description = description or "", label_keys = keys, buckets = buckets,
		metrics = {}, label_values = {} }, family_mt);
	self.families[full_name] = family;
	return family;
end

for type_ in pairs(constructors) do
	registry_mt[type_] = function(self, name, unit, description, label_keys, extra)
		return add_family(self, type_, name, unit, description, label_keys, extra);
	end;
end

function registry_mt:get_metric_families() return self.families; end

---------------------------------------------------------------------------------------------
-- OpenMetrics text (https://openmetrics.io, exposition format §4 and the ABNF in §5)
---------------------------------------------------------------------------------------------

-- Metric and label names: [a-zA-Z_][a-zA-Z0-9_]*; Prosody writes "/" as "__".
local function escape_name(name)
	name = tostring(name):gsub("/", "__"):gsub("[^%w_]", "_");
	if not name:match("^[%a_]") then name = "_" .. name; end
	return name;
end

-- Label values: backslash, double quote and line feed are escaped (§5, escaped-string).
local function escape_label_value(value)
	return (tostring(value):gsub('[\\"\n]', { ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n" }));
end

-- HELP and UNIT text: backslash and line feed (a quote may stand as is there).
local function escape_text(text)
	return (tostring(text):gsub("[\\\n]", { ["\\"] = "\\\\", ["\n"] = "\\n" }));
end

local function format_value(v)
	if v ~= v then return "NaN"; end
	if v == math.huge then return "+Inf"; end
	if v == -math.huge then return "-Inf"; end
	if math.type(v) == "integer" then return tostring(v); end
	local i = math.tointeger(v);
	if i then return tostring(i); end
	return ("%.17g"):format(v);
end

local function render_labels(keys, values, extra)
	local parts = {};
	for i, k in ipairs(keys) do
		parts[#parts + 1] = escape_name(k) .. '="' .. escape_label_value(values[i] or "") .. '"';
	end
	if extra then
		for k, v in pairs(extra) do parts[#parts + 1] = escape_name(k) .. '="' .. escape_label_value(v) .. '"'; end
	end
	if #parts == 0 then return ""; end
	return "{" .. table.concat(parts, ",") .. "}";
end

local function render_family(out, family)
	local name = escape_name(family.name);
	out[#out + 1] = "# TYPE " .. name .. " " .. family.type;
	if family.unit ~= "" then out[#out + 1] = "# UNIT " .. name .. " " .. escape_text(escape_name(family.unit)); end
	if family.description ~= "" then out[#out + 1] = "# HELP " .. name .. " " .. escape_text(family.description); end
	local keys = {};
	for k in pairs(family.metrics) do keys[#keys + 1] = k; end
	table.sort(keys);
	for _, k in ipairs(keys) do
		local values = family.label_values[k];
		family.metrics[k]:samples(function(suffix, extra, value)
			out[#out + 1] = name .. suffix .. render_labels(family.label_keys, values, extra) .. " " .. format_value(value);
		end);
	end
end

function registry_mt:render()
	local names = {};
	for name in pairs(self.families) do names[#names + 1] = name; end
	table.sort(names);
	local out = {};
	for _, name in ipairs(names) do render_family(out, self.families[name]); end
	out[#out + 1] = "# EOF";
	return table.concat(out, "\n") .. "\n";
end

---------------------------------------------------------------------------------------------
-- The legacy module:measure(name, type) API, mapped onto families as Prosody 0.12 maps it
---------------------------------------------------------------------------------------------

local function legacy_description(extra, stat_type, name)
	return extra and extra.description or (name .. " " .. stat_type), extra and extra.unit;
end

local function build_legacy(metric, stat_type, name, extra, fixed_key, fixed_value)
	local keys = fixed_key and { fixed_key } or {};
	local function family(type_, unit, description, conf)
		local f = metric(type_, "prosody_" .. name, unit, description, keys, conf);
		if fixed_key then f = f:with_partial_label(fixed_value); end
		return f:with_labels();
	end
	if stat_type == "amount" then
		local initial = type(extra) == "number" and extra or (type(extra) == "table" and extra.initial) or 0;
		local description, unit = legacy_description(type(extra) == "table" and extra, "amount", name);
		local m = family("gauge", unit, description);
		m:set(initial);
		return function(v) m:set(v); end;
	elseif stat_type == "counter" or stat_type == "rate" then
		if type(extra) ~= "table" then extra = nil; end
		local description, unit = legacy_description(extra, "counter", name);
		local m = family("counter", unit, description);
		if stat_type == "rate" then return function() m:add(1); end; end
		return function(v) m:add(v); end;
	elseif stat_type == "times" or stat_type == "sizes" then
		if type(extra) ~= "table" then extra = nil; end
		local buckets = extra and extra.buckets;
		if not buckets and stat_type == "sizes" then
			buckets = { 1024, 4096, 32768, 131072, 1048576, 4194304, 33554432, 134217728, 1073741824 };
		end
		local description = legacy_description(extra, stat_type, name);
		local m = family("histogram", stat_type == "times" and "seconds" or "bytes", description, { buckets = buckets });
		if stat_type == "times" then return function() return timed(m); end; end
		return function(v) m:sample(v); end;
	elseif stat_type == "distribution" then
		if type(extra) == "string" then extra = { unit = extra }; end
		if type(extra) ~= "table" then extra = nil; end
		local description, unit = legacy_description(extra, "distribution", name);
		local m = family("summary", unit, description);
		return function(v) m:sample(v); end;
	end
	error("unknown legacy metric type " .. tostring(stat_type), 3);
end

---------------------------------------------------------------------------------------------
-- Collectors: the process, the .NET runtime and the native core, read at collect time
---------------------------------------------------------------------------------------------

local function install_collectors(registry)
	local function g(name, unit, description)
		return registry:gauge(name, unit, description, {}):with_labels();
	end
	local function c(name, unit, description)
		return registry:counter(name, unit, description, {}):with_labels();
	end
	-- name in metrics_snapshot -> metric; Prosody's process family names first.
	local fed = {
		process_start_time = g("process_start_time", "seconds", "Start time of the process since the Unix epoch in seconds"),
		process_cpu = c("process_cpu", "seconds", "CPU time used by the process (user and system) in seconds"),
		process_resident_memory = g("process_resident_memory", "bytes", "Resident memory size in bytes"),
		process_open_fds = g("process_open_fds", "", "Number of open file descriptors"),
		process_max_fds = g("process_max_fds", "", "Maximum number of open file descriptors"),
		dotnet_gc_heap_size = g("dotnet_gc_heap_size", "bytes", "Bytes in use on the .NET GC heap"),
		dotnet_gc_allocated = c("dotnet_gc_allocated", "bytes", "Bytes allocated on the .NET GC heap since start"),
		dotnet_threadpool_threads = g("dotnet_threadpool_threads", "", ".NET thread pool threads"),
		dotnet_threadpool_queue_length = g("dotnet_threadpool_queue_length", "", "Work items waiting for the .NET thread pool"),
		c2s_connected = nil, -- set below with labels
	};
	local gc = registry:counter("dotnet_gc_collections", "", ".NET garbage collections by generation", { "generation" });
	fed.dotnet_gc_gen0_collections = gc:with_labels("0");
	fed.dotnet_gc_gen1_collections = gc:with_labels("1");
	fed.dotnet_gc_gen2_collections = gc:with_labels("2");
	local c2s = registry:gauge("luaxmpp_c2s_sessions", "", "Client sessions by state", { "state" });
	fed.c2s_connected = c2s:with_labels("connected");
	fed.c2s_authenticated = c2s:with_labels("authenticated");
	fed.c2s_bound = c2s:with_labels("bound");
	fed.smacks_enabled = g("luaxmpp_smacks_enabled_sessions", "", "Client sessions with XEP-0198 stream management enabled");
	fed.smacks_hibernating = g("luaxmpp_smacks_hibernating_sessions", "", "XEP-0198 sessions hibernating, waiting to be resumed");
	fed.smacks_queued_stanzas = g("luaxmpp_smacks_queued_stanzas", "", "Unacknowledged stanzas held in XEP-0198 queues");
	fed.archive_committed = c("luaxmpp_archive_committed_messages", "", "Archived messages committed to storage");
	fed.archive_batches = c("luaxmpp_archive_commit_batches", "", "Archive write batches committed (messages / batches = mean batch size)");
	fed.archive_commit = c("luaxmpp_archive_commit", "seconds", "Time spent writing committed archive batches (divided by batches: mean commit latency)");
	local routed = registry:counter("luaxmpp_routed_stanzas", "", "Stanzas routed: taken from sessions (process) or sent by the server and its modules (route)", { "path" });
	fed.stanzas_processed = routed:with_labels("process");
	fed.stanzas_routed = routed:with_labels("route");
	fed.lua_dispatches = c("luaxmpp_lua_dispatches", "", "Event chains with Lua handlers dispatched into Lua");
	fed.lua_dispatch = c("luaxmpp_lua_dispatch", "seconds", "Time spent in Lua dispatches, up to their return or first wait");
	local heap = g("lua_heap", "bytes", "Memory used by the Lua state in bytes");
	-- Histograms counted natively: the snapshot gives bounds, cumulative counts and the sum.
	local histograms = {
		archive_batch_size = registry:histogram("luaxmpp_archive_batch_size", "", "Archived messages per committed transaction", {}):with_labels(),
		archive_commit_latency = registry:histogram("luaxmpp_archive_commit_latency", "seconds", "Time to commit one archive transaction", {}):with_labels(),
	};

	return function()
		local snapshot = metrics.snapshot();
		for key, metric in pairs(fed) do
			local v = snapshot[key];
			if v then metric:set(v); end
		end
		heap:set(math.floor(collectgarbage("count") * 1024));
		for key, metric in pairs(histograms) do
			local h = snapshot[key];
			if type(h) == "table" then
				metric.buckets, metric.counts = h.bounds, {};
				for i = 1, #h.bounds do metric.counts[i] = h.cumulative[i]; end
				metric.count, metric.sum = h.cumulative[#h.cumulative], h.sum;
			end
		end
	end;
end

---------------------------------------------------------------------------------------------
-- The module
---------------------------------------------------------------------------------------------

local function setting(key)
	local ok, value = pcall(config.get, "*", key);
	if ok then return value; end
end

-- Prosody 0.12's rule for whether statistics run: `statistics` names a provider; a numeric
-- `statistics_interval` alone implies "internal". Every provider here is the internal one.
local function wanted()
	local provider, interval = setting("statistics"), setting("statistics_interval");
	if provider then
		if provider ~= "internal" then
			logger.write("stats", "warn", ("statistics = %q is not available; using the internal provider"):format(tostring(provider)));
		end
		return true;
	end
	return tonumber(interval) ~= nil or interval == "manual";
end

local noop = setmetatable({}, {
	__index = function(self) return self; end;
	__call = function(self) return self; end;
	__newindex = function() end;
});

---------------------------------------------------------------------------------------------
-- The admin shell's stats:show(pattern), as Prosody 0.12's mod_admin_shell prints it: one
-- line per metric (a family with labels: its name, then one indented line per label set);
-- counters as their total and mean rate since start, gauges as their value, histograms and
-- summaries as their mean per observation.
---------------------------------------------------------------------------------------------

local loaded_at = time.monotonic();

local function shell_number(v)
	if math.type(v) == "integer" or math.tointeger(v) then return tostring(math.tointeger(v)); end
	return ("%.4g"):format(v);
end

local function shell_value(family, metric, uptime)
	local unit = family.unit ~= "" and (" " .. family.unit) or "";
	local values = {};
	metric:samples(function(suffix, extra, value)
		if not extra then values[suffix] = value; end
	end);
	if family.type == "counter" then
		local total = values._total or 0;
		return ("%s%s (%s%s/s avg)"):format(shell_number(total), unit, shell_number(total / math.max(uptime, 1e-3)), unit);
	elseif family.type == "gauge" then
		return shell_number(values[""] or 0) .. unit;
	end
	local count, sum = values._count or 0, values._sum or 0;
	if count == 0 then return "no obs."; end
	return ("%s%s/event avg over %s"):format(shell_number(sum / count), unit, shell_number(count));
end

local function shell_lines(registry, pattern)
	local names = {};
	for name in pairs(registry.families) do
		if not pattern or name:match(pattern) then names[#names + 1] = name; end
	end
	table.sort(names);
	local uptime = (time.monotonic()) - loaded_at;
	local lines = {};
	for _, name in ipairs(names) do
		local family = registry.families[name];
		local keys = {};
		for k in pairs(family.metrics) do keys[#keys + 1] = k; end
		table.sort(keys);
		if #family.label_keys > 0 then
			lines[#lines + 1] = name;
			for _, k in ipairs(keys) do
				local labels = {};
				for i, label in ipairs(family.label_keys) do labels[i] = label .. "=" .. tostring(family.label_values[k][i]); end
				lines[#lines + 1] = ("%-50s %s"):format("  " .. table.concat(labels, " "), shell_value(family, family.metrics[k], uptime));
			end
		else
			for _, k in ipairs(keys) do
				lines[#lines + 1] = ("%-50s %s"):format(name, shell_value(family, family.metrics[k], uptime));
			end
		end
	end
	return lines, #names;
end

local function new(enabled)
	if not enabled then
		return {
			measure = function() return function() return noop; end; end,
			metric = function() return noop; end,
			cork = function() end,
			uncork = function() end,
			get_metric_registry = function() return nil; end,
			shell_lines = function() return nil; end,
		};
	end
	local registry = new_registry();
	local refresh = install_collectors(registry);
	local function metric(type_, name, unit, description, label_keys, extra)
		local ctor = registry_mt[type_];
		if type(ctor) ~= "function" or not constructors[type_] then
			error("unknown metric family type: " .. tostring(type_), 2);
		end
		return ctor(registry, name, unit, description, label_keys, extra);
	end
	local function measure(stat_type, name, extra, fixed_key, fixed_value)
		return build_legacy(metric, stat_type, name, extra, fixed_key, fixed_value);
	end
	-- Prosody exports collect only with statistics_interval = "manual"; here it is always
	-- there, so mod_http_openmetrics gets numbers read at request time.
	local function collect()
		refresh();
		local events = prosody and prosody.events;
		if events and events.fire_event then
			pcall(events.fire_event, "stats-update");
			pcall(events.fire_event, "openmetrics-updated", { metric_registry = registry });
		end
		return nil, registry;
	end
	return {
		measure = measure,
		metric = metric,
		collect = collect,
		cork = function() end,
		uncork = function() end,
		get_metric_registry = function() return registry; end,
		-- Lines for stats:show(pattern) and how many families matched; errors on a bad pattern.
		shell_lines = function(pattern)
			collect();
			return shell_lines(registry, pattern);
		end,
	};
end

local M = new(wanted());
-- For tests and tools: a fresh, enabled instance that is independent of the configuration.
M._new = function() return new(true); end;
M._escape_label_value = escape_label_value;
M._escape_name = escape_name;
return M;
