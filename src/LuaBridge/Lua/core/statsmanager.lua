-- core.statsmanager: the statistics API of Prosody 0.12 over LuaXmpp's native counters
-- (one table of named numbers in the runtime, shared with module:measure / module:metric).
-- measure(type, name) returns a recording function; metric(type, name, unit, description,
-- label_keys) returns a family whose with_labels(...) gives metrics with add/set/sample;
-- get_metric_registry():render() writes every counter in OpenMetrics text.

local N = require "luaxmpp.native";

local families = {};  -- name -> { type, unit, description, label_keys }

local function key_of(name, labels)
	if not labels or #labels == 0 then return name; end
	return name .. "{" .. table.concat(labels, ",") .. "}";
end

local function measure(stat_type, name)
	if stat_type == "times" then
		return function()
			local started = N.monotonic();
			return function()
				N.metric_add(name .. ":time", N.monotonic() - started);
				N.metric_add(name, 1);
			end;
		end;
	elseif stat_type == "amount" or stat_type == "size" then
		return function(v) N.metric_set(name, tonumber(v) or 0); end;
	end
	return function(n) N.metric_add(name, tonumber(n) or 1); end;
end

local metric_mt = {};
metric_mt.__index = metric_mt;
function metric_mt:add(n) N.metric_add(self.key, tonumber(n) or 1); end
function metric_mt:set(v) N.metric_set(self.key, tonumber(v) or 0); end
function metric_mt:sample(v)
	N.metric_add(self.key .. ":sum", tonumber(v) or 0);
	N.metric_add(self.key .. ":count", 1);
end
function metric_mt:with_time()
	local started = N.monotonic();
	return function() self:sample(N.monotonic() - started); end;
end
function metric_mt:reset() N.metric_set(self.key, 0); end

local family_mt = {};
family_mt.__index = family_mt;
function family_mt:with_labels(...)
	local labels = { ... };
	return setmetatable({ key = key_of(self.name, labels), labels = labels }, metric_mt);
end
-- Fixes the first labels; the returned family takes the rest.
function family_mt:with_partial_label(...)
	local fixed = { ... };
	local parent = self;
	return setmetatable({ name = parent.name, with_labels = function(_, ...)
		local all = {};
		for _, v in ipairs(fixed) do all[#all + 1] = v; end
		for _, v in ipairs({ ... }) do all[#all + 1] = v; end
		return parent:with_labels(table.unpack(all));
	end }, { __index = parent });
end
function family_mt:clear() end

local function metric(type_, name, unit, description, label_keys)
	local family = families[name];
	if not family then
		family = setmetatable({ name = name, type = type_, unit = unit or "",
			description = description or "", label_keys = label_keys or {} }, family_mt);
		families[name] = family;
	end
	return family;
end

-- OpenMetrics text (https://openmetrics.io): one sample line per native counter; a key
-- "name{v1,v2}" gets its family's label names (label1, label2, ... when unknown).
local function render_sample(key, value)
	local name, values = key:match("^([^{]*){(.*)}$");
	name = name or key;
	local labels = "";
	if values then
		local family, parts, i = families[name], {}, 0;
		for v in (values .. ","):gmatch("([^,]*),") do
			i = i + 1;
			local label = family and family.label_keys[i] or ("label" .. i);
			parts[#parts + 1] = ('%s="%s"'):format(label, (v:gsub('[\\"]', "\\%0")));
		end
		labels = "{" .. table.concat(parts, ",") .. "}";
	end
	return ("%s%s %s"):format((name:gsub("[^%w_:]", "_")), labels, tostring(math.tointeger(value) or value));
end

local registry = {};
function registry:render()
	local snapshot = N.metric_snapshot();
	local keys = {};
	for k in pairs(snapshot) do keys[#keys + 1] = k; end
	table.sort(keys);
	local lines = {};
	for _, k in ipairs(keys) do lines[#lines + 1] = render_sample(k, snapshot[k]); end
	lines[#lines + 1] = "# EOF";
	return table.concat(lines, "\n") .. "\n";
end
function registry:get_metric_families() return families; end

return {
	measure = measure,
	metric = metric,
	collect = function() end,       -- counters are always current
	cork = function() end,
	uncork = function() end,
	get_metric_registry = function() return registry; end,
	get_stats = function() return N.metric_snapshot(), {}, {}; end,
};
