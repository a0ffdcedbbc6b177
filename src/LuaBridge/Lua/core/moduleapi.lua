-- core.moduleapi for the bridge: the `module` object every Prosody module sees (contract
-- §1.4–1.5), written over the C# primitives in luaxmpp.native.<area>.
local N_modules = require "luaxmpp.native.modules";
local hosts = require "luaxmpp.hosts";
local timers = require "luaxmpp.timers";
local bridge = require "core.bridge";

local type, pairs, ipairs, setmetatable, rawget, tostring, tonumber, select, error, pcall =
	type, pairs, ipairs, setmetatable, rawget, tostring, tonumber, select, error, pcall;
local t_insert, t_remove, t_unpack = table.insert, table.remove, table.unpack;

-- COMPAT (contract §1.2): Prosody's moduleapi asserts that core_post_stanza exists.
assert(prosody and prosody.core_post_stanza, "prosody.core_post_stanza must exist before core.moduleapi");

local api = {};

local function optional(name)
	local ok, lib = pcall(require, name);
	if ok and type(lib) == "table" then return lib; end
	return nil;
end

---------------------------------------------------------------------------------------------
-- Instances (used by core.modulemanager)
---------------------------------------------------------------------------------------------

-- module.event_handlers: (object, event, handler) triples, iterable like util.multitable.
local handler_list_mt = {};
handler_list_mt.__index = handler_list_mt;
function handler_list_mt:set(object, event, handler, value)
	local per_object = self.data[object];
	if not per_object then per_object = {}; self.data[object] = per_object; end
	local per_event = per_object[event];
	if not per_event then per_event = {}; per_object[event] = per_event; end
	per_event[handler] = value;
end
function handler_list_mt:iter()
	local out = {};
	for object, events in pairs(self.data) do
		for event, handlers in pairs(events) do
			for handler in pairs(handlers) do t_insert(out, { object, event, handler }); end
		end
	end
	local i = 0;
	return function()
		i = i + 1;
		local r = out[i];
		if r then return r[1], r[2], r[3]; end
	end;
end

function api._new_handler_list()
	return setmetatable({ data = {} }, handler_list_mt);
end

function api._init_instance(instance, host, name)
	local source = host .. ":" .. name;
	local _log = function(level, fmt, ...) return bridge.log(source, level, fmt, ...); end;
	instance._log = _log;
	instance.log = function(_, ...) return _log(...); end;
	instance._owner = N_modules.module_owner(instance, host, name);
	instance._timers = {};
	instance.loaded = true;
end

function api._new_instance(host, name)
	local instance = setmetatable({
		name = name, host = host, global = false,
		event_handlers = api._new_handler_list(), items = {},
	}, { __index = api });
	api._init_instance(instance, host, name);
	return instance;
end

-- Unload: handlers, items, timers (contract §1.1 "Unloading").
function api:_cleanup()
	for object, event, handler in self.event_handlers:iter() do
		object.remove_handler(event, handler);
	end
	self.event_handlers = api._new_handler_list();
	for key, list in pairs(rawget(self, "items") or {}) do
		for i = #list, 1, -1 do self:remove_item(key, list[i]); end
	end
	for id in pairs(rawget(self, "_timers") or {}) do timers.stop(id); end
	self.loaded = false;
	if rawget(self, "_owner") then N_modules.module_released(self._owner); end
end

---------------------------------------------------------------------------------------------
-- Identity
---------------------------------------------------------------------------------------------

function api:get_name() return self.name; end
function api:get_host() return self.host; end

function api:get_host_type()
	if self.host == "*" then return "global"; end
	local h = prosody.hosts[self.host];
	return h and h.type or "local";
end

function api:set_global()
	self.host = "*";
	self.global = true;
	local source = "mod_" .. self.name;
	local _log = function(level, fmt, ...) return bridge.log(source, level, fmt, ...); end;
	self._log = _log;
	self.log = function(_, ...) return _log(...); end;
end

function api:get_directory()
	return self.path and (self.path:gsub("[/\\][^/\\]*$", "")) or nil;
end

function api:load_resource(path, mode)
	local dir = self:get_directory();
	if dir and not path:match("^/") then path = dir .. "/" .. path; end
	return io.open(path, mode);
end

---------------------------------------------------------------------------------------------
-- Events
---------------------------------------------------------------------------------------------

local function host_events(host)
	if host == "*" then return prosody.events; end
	local h = prosody.hosts[host];
	if not h then error("unknown host " .. tostring(host), 3); end
	return h.events;
end

function api:hook_object_event(object, event, handler, priority)
	self.event_handlers:set(object, event, handler, true);
	if object._add_owned_handler then
		return object._add_owned_handler(event, handler, priority, self._owner);
	end
	return object.add_handler(event, handler, priority);
end

function api:unhook_object_event(object, event, handler)
	self.event_handlers:set(object, event, handler, nil);
	return object.remove_handler(event, handler);
end

function api:hook(event, handler, priority)
	return self:hook_object_event(host_events(self.host), event, handler, priority);
end

function api:hook_global(event, handler, priority)
	return self:hook_object_event(prosody.events, event, handler, priority);
end

function api:unhook(event, handler)
	return self:unhook_object_event(host_events(self.host), event, handler);
end

-- stanza/<ns>:<name> events, the handler called as (origin, stanza, event).
function api:hook_tag(xmlns, name, handler, priority)
	if handler == nil and type(name) == "function" then
		xmlns, name, handler, priority = nil, xmlns, name, handler;
	elseif not (handler and name) then
		self:log("warn", "Error: Insufficient parameters to module:hook_tag()");
		return;
	end
	local event = "stanza/" .. (xmlns and (xmlns .. ":") or "") .. name;
	return self:hook(event, function(e) return handler(e.origin, e.stanza, e); end, priority);
end
api.hook_stanza = api.hook_tag;

function api:wrap_object_event(events_object, event, handler)
	return events_object.add_wrapper(event, handler);
end
function api:wrap_event(event, handler) return self:wrap_object_event(host_events(self.host), event, handler); end
function api:wrap_global(event, handler) return self:wrap_object_event(prosody.events, event, handler); end

function api:fire_event(...)
	return host_events(self.host).fire_event(...);
end

---------------------------------------------------------------------------------------------
-- Configuration (contract §1.5; typed getters as in 0.12, plus the later ones the brief asks for)
---------------------------------------------------------------------------------------------

function api:get_option(name, default)
	local value = hosts.get_option(self.host, name);
	if value == nil then value = default; end
	return value;
end

function api:get_option_scalar(name, default)
	local value = self:get_option(name, default);
	if type(value) == "table" then
		if #value > 1 then self:log("error", "Config option '%s' does not take a list, using just the first item", name); end
		value = value[1];
	end
	return value;
end

function api:get_option_string(name, default)
	local value = self:get_option_scalar(name, default);
	if value == nil then return nil; end
	return tostring(value);
end

function api:get_option_number(name, ...)
	local value = self:get_option_scalar(name, ...);
	local n = tonumber(value);
	if value ~= nil and n == nil then self:log("error", "Config option '%s' not understood, expecting a number", name); end
	return n;
end

function api:get_option_integer(name, ...)
	local n = self:get_option_number(name, ...);
	if n ~= nil and math.type(n) ~= "integer" then
		local i = math.tointeger(n);
		if i == nil then
			self:log("error", "Config option '%s' not understood, expecting an integer", name);
			return nil;
		end
		n = i;
	end
	return n;
end

function api:get_option_boolean(name, ...)
	local value = self:get_option_scalar(name, ...);
	if value == nil then return nil; end
	if value == true or value == "true" or value == 1 then return true; end
	if value == false or value == "false" or value == 0 then return false; end
	self:log("error", "Config option '%s' not understood, expecting true/false", name);
	return nil;
end

function api:get_option_array(name, ...)
	local value = self:get_option(name, ...);
	if value == nil then return nil; end
	local array = optional("util.array");
	local copy = {};
	if type(value) ~= "table" then copy[1] = value; else for i, v in ipairs(value) do copy[i] = v; end end
	if array then return array(copy); end
	return copy;
end

function api:get_option_set(name, ...)
	local value = self:get_option_array(name, ...);
	if value == nil then return nil; end
	local set = optional("util.set");
	if set then return set.new(value); end
	local s = {};
	for _, v in ipairs(value) do s[v] = true; end
	return s;
end

function api:get_option_inherited_set(name, ...)
	local value = self:get_option_set(name, ...);
	local global_value = self:context("*"):get_option_set(name, ...);
	if not value then return global_value; end
	if not global_value then return value; end
	if value.include then value:include(global_value); else for k in pairs(global_value) do value[k] = true; end end
	return value;
end

function api:get_option_enum(name, default, ...)
	local value = self:get_option_scalar(name, default);
	if value == nil or value == default then return value; end
	for i = 1, select("#", ...) do
		if value == select(i, ...) then return value; end
	end
	self:log("error", "Config option '%s' not understood, expecting one of: %s", name, table.concat({ default, ... }, ", "));
	return default;
end

-- Periods: a number of seconds, or "<n> <unit>" (s, min, h, d, w, m(onth), y).
local period_units = {
	s = 1, sec = 1, second = 1, seconds = 1, min = 60, minute = 60, minutes = 60, h = 3600, hour = 3600, hours = 3600,
	d = 86400, day = 86400, days = 86400, w = 604800, week = 604800, weeks = 604800,
	m = 2678400, month = 2678400, months = 2678400, y = 31556952, year = 31556952, years = 31556952,
};
function api:get_option_period(name, default)
	local value = self:get_option_scalar(name, default);
	if type(value) == "number" then return value; end
	if type(value) ~= "string" then return nil; end
	if value == "never" then return math.huge; end
	local n, unit = value:lower():match("^%s*(%d+%.?%d*)%s*(%a*)%s*$");
	local factor = n and (unit == "" and 1 or period_units[unit]);
	if not factor then
		self:log("error", "Config option '%s' not understood, expecting a period", name);
		return nil;
	end
	return tonumber(n) * factor;
end

function api:get_option_path(name, default, parent)
	local value = self:get_option_string(name, default);
	if value == nil then return nil; end
	if value:match("^/") then return value; end
	if parent == nil then parent = self:get_directory();
	elseif prosody.paths[parent] then parent = prosody.paths[parent]; end
	return parent and (parent .. "/" .. value) or value;
end

function api:context(host)
	return setmetatable({ host = host or "*", global = "*" == host }, { __index = self, __newindex = self });
end

---------------------------------------------------------------------------------------------
-- Items
---------------------------------------------------------------------------------------------

function api:add_item(key, value)
	local items = rawget(self, "items");
	if not items then items = {}; self.items = items; end
	local list = items[key];
	if not list then list = {}; items[key] = list; end
	t_insert(list, value);
	if self.host == "*" then
		prosody.events.fire_event("item-added/" .. key, { source = self, item = value });
	else
		hosts.add_item(self.host, key, value, self._owner);
	end
end

function api:remove_item(key, value)
	local list = rawget(self, "items") and self.items[key];
	if not list then return; end
	for i = #list, 1, -1 do
		if list[i] == value then
			t_remove(list, i);
			if self.host == "*" then
				prosody.events.fire_event("item-removed/" .. key, { source = self, item = value });
			else
				hosts.remove_item(self.host, key, value);
			end
			return value;
		end
	end
end

function api:get_host_items(key)
	if self.host == "*" then
		local out = {};
		for _, env in pairs(require "core.modulemanager".get_modules("*")) do
			for _, item in ipairs(rawget(env.module, "items") and env.module.items[key] or {}) do t_insert(out, item); end
		end
		return out;
	end
	return hosts.items(self.host, key);
end

function api:handle_items(item_type, added, removed, existing)
	self:hook("item-added/" .. item_type, added);
	self:hook("item-removed/" .. item_type, removed);
	if existing ~= false then
		for _, item in ipairs(self:get_host_items(item_type)) do added({ item = item }); end
	end
end

function api:add_feature(xmlns) self:add_item("feature", xmlns); end
function api:add_identity(category, type_, name)
	self:add_item("identity", { category = category, type = type_, name = name });
end
function api:add_extension(data) self:add_item("extension", data); end

function api:provides(name, item)
	if not item then
		item = {};
		for k, v in pairs(self.environment) do
			if k ~= "module" then item[k] = v; end
		end
	end
	if not item.name then
		local item_name = self.name;
		local prefix = name:gsub("%-", "_") .. "_";
		if item_name:sub(1, #prefix) == prefix then item_name = item_name:sub(#prefix + 1); end
		item.name = item_name;
	end
	item._provided_by = self.name;
	-- Listeners open through core.portmanager, which hears of them by this item (as in Prosody).
	if name == "net" then require "core.portmanager"; end
	self:add_item(name .. "-provider", item);
end

---------------------------------------------------------------------------------------------
-- Shared tables, dependencies, libraries
---------------------------------------------------------------------------------------------

local shared_tables = setmetatable({}, { __mode = "v" });
local shared_strong = {};

function api:shared(path)
	local full;
	if path:sub(1, 1) == "/" then full = path;
	elseif path:find("/", 1, true) then full = "/" .. self.host .. "/" .. path;
	else full = "/" .. self.host .. "/" .. self.name .. "/" .. path; end
	local t = shared_tables[full];
	if not t then
		t = {};
		if full:match("%-cache$") then setmetatable(t, { __mode = "k" }); end
		shared_tables[full] = t;
		shared_strong[full] = t;
	end
	local data = rawget(self, "shared_data");
	if not data then data = {}; self.shared_data = data; end
	data[path] = t;
	return t;
end

function api:depends(name)
	local disabled = self:get_option_inherited_set("modules_disabled", {});
	if disabled and (disabled.contains and disabled:contains(name) or disabled[name] == true) then
		error("Dependency on disabled module mod_" .. name);
	end
	local deps = rawget(self, "dependencies");
	if not deps then deps = {}; self.dependencies = deps; end
	if deps[name] then return deps[name]; end
	local modulemanager = require "core.modulemanager";
	local mod = modulemanager.get_module(self.host, name) or modulemanager.get_module("*", name);
	if not mod then
		-- A dependency whose load waits suspends this module's load until it ended (bridge.await_or_detach).
		local ok, err = require "core.bridge".await_or_detach(N_modules.modules_load(self.host == "*" and "*" or self.host, name));
		if not ok then error("Failed to load required module mod_" .. name .. ": " .. tostring(err)); end
		mod = modulemanager.get_module(self.host, name) or modulemanager.get_module("*", name) or true;
	end
	deps[name] = mod;
	return mod;
end

-- Plugin library names, searched like Prosody's pluginloader.
function api._resource_names(plugin, resource)
	return {
		"mod_" .. plugin .. "/" .. plugin .. "/" .. resource,
		"mod_" .. plugin .. "/" .. resource,
		plugin .. "/" .. resource,
		resource,
		"share/lua/5.4/" .. resource,
		"share/lua/5.4/mod_" .. plugin .. "/" .. resource,
	};
end

function api:require(lib)
	local f, err = require "core.modulemanager".loader:load_code_ext(self.name, lib, "lib.lua", self.environment);
	if not f then error("Failed to load plugin library '" .. lib .. "', error: " .. tostring(err)); end
	return f();
end

---------------------------------------------------------------------------------------------
-- Sending
---------------------------------------------------------------------------------------------

function api:send(stanza, origin)
	return prosody.core_route_stanza(origin or prosody.hosts[self.host], stanza);
end

function api:send_iq(stanza, origin, timeout)
	local promise = require "util.promise";
	local jid = require "util.jid";
	local from = stanza.attr.from;
	local kind = not jid.node(from) and "host" or (jid.resource(from) and "full" or "bare");
	local id = stanza.attr.id;
	local result_event, error_event = "iq-result/" .. kind .. "/" .. id, "iq-error/" .. kind .. "/" .. id;
	if kind == "full" then result_event, error_event = "iq/full", "iq/full"; end
	local p = promise.new(function(resolve, reject)
		local timer, on_result, on_error;
		local function done()
			self:unhook(result_event, on_result);
			self:unhook(error_event, on_error);
			if timer then timer:stop(); end
		end
		on_result = function(event)
			local reply = event.stanza;
			if reply.attr.type == "result" and reply.attr.from == stanza.attr.to and reply.attr.id == id then
				done(); resolve(event); return true;
			end
		end;
		on_error = function(event)
			local reply = event.stanza;
			if reply.attr.type == "error" and reply.attr.from == stanza.attr.to and reply.attr.id == id then
				done();
				local errors = optional("util.error");
				reject(errors and errors.from_stanza and errors.from_stanza(reply, event) or event);
				return true;
			end
		end;
		self:hook(result_event, on_result, 1);
		self:hook(error_event, on_error, 1);
		timer = self:add_timer(timeout or 120, function()
			done();
			local errors = optional("util.error");
			local e = { type = "wait", condition = "remote-server-timeout", text = "IQ stanza timed out" };
			reject(errors and errors.new and errors.new(e) or e);
		end);
		self:send(stanza, origin);
	end);
	return p;
end

---------------------------------------------------------------------------------------------
-- Timers
---------------------------------------------------------------------------------------------

local timer_methods = {};
local timer_mt = { __index = timer_methods };

function timer_methods:stop()
	if self.id then
		timers.stop(self.id);
		self.module_env._timers[self.id] = nil;
		self.id = nil;
	end
end
timer_methods.disarm = timer_methods.stop;

function timer_methods:reschedule(delay)
	self:stop();
	return self:_start(delay);
end

function timer_methods:_start(delay)
	local t = self;
	t.id = timers.add(delay, function(now)
		if t.module_env.loaded == false then return nil; end
		local ret = t.callback(now, t_unpack(t, 1, t.n));
		if type(ret) ~= "number" then
			if t.id then t.module_env._timers[t.id] = nil; end
			t.id = nil;
		end
		return ret;
	end);
	self.module_env._timers[t.id] = true;
	return self;
end

function api:add_timer(delay, callback, ...)
	local t = setmetatable(table.pack(...), timer_mt);
	t.module_env = self;
	t.callback = callback;
	return t:_start(delay);
end

function api:on_ready(f)
	return self:add_timer(0, function() f(); end);
end

-- Periodic tasks: the "cron" module (ours, modules/mod_cron.lua, or Prosody's on the plugin
-- path) runs them. The adding module's name is recorded for the task's id ("<module>/<name>").
function api:cron(task)
	self:depends("cron");
	if task.module_name == nil then task.module_name = self.name; end
	self:add_item("task", task);
end
function api:hourly(name, fn)
	if type(name) == "function" then fn, name = name, nil; end
	self:cron({ name = name, when = "hourly", run = fn });
end
function api:daily(name, fn)
	if type(name) == "function" then fn, name = name, nil; end
	self:cron({ name = name, when = "daily", run = fn });
end
function api:weekly(name, fn)
	if type(name) == "function" then fn, name = name, nil; end
	self:cron({ name = name, when = "weekly", run = fn });
end

---------------------------------------------------------------------------------------------
-- Statistics through core.statsmanager, named as Prosody 0.12 names them: legacy measures
-- become prosody_mod_<module>/<name>, metric families prosody_mod_<module>/<name>, both with
-- a leading `host` label unless the module is global.
---------------------------------------------------------------------------------------------

function api:measure(name, stat_type, conf)
	local measure = require "core.statsmanager".measure;
	local scoped = self.host ~= "*";
	self:add_item("measure", { name = name, type = stat_type, conf = conf });
	return measure(stat_type, "mod_" .. self.name .. "/" .. name, conf,
		scoped and "host" or nil, scoped and self.host or nil);
end

function api:metric(type_, name, unit, description, label_keys, conf)
	local metric = require "core.statsmanager".metric;
	local scoped = self.host ~= "*";
	local keys = {};
	if scoped then keys[1] = "host"; end
	for _, k in ipairs(label_keys or {}) do keys[#keys + 1] = k; end
	local family = metric(type_, "prosody_mod_" .. self.name .. "/" .. name, unit, description, keys, conf);
	self:add_item("metric", { name = name, mf = family });
	if scoped then return family:with_partial_label(self.host); end
	return family;
end

---------------------------------------------------------------------------------------------
-- Status, logging, storage
---------------------------------------------------------------------------------------------

function api:set_status(status_type, message, override)
	local priorities = { error = 3, warn = 2, info = 1, core = 0 };
	local current = rawget(self, "status_type");
	if current and (priorities[status_type] or 0) < (priorities[current] or 0) and override == nil then
		return;
	end
	self.status_type, self.status_message, self.status_time = status_type, message, os.time();
	pcall(self.fire_event, self, "module-status/updated", { name = self.name });
end

function api:get_status()
	return self.status_type, self.status_message, self.status_time;
end

function api:log_status(level, message, ...)
	self:set_status(level, message);
	return self:log(level, message, ...);
end

function api:open_store(name, store_type)
	return require "core.storagemanager".open(self.host, name or self.name, store_type);
end

return api;
