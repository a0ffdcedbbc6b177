-- core.modulemanager for the bridge: module instances with Prosody's loading rules
-- (contract §1.1). The C# ModuleManager stays the authority on what is loaded where, so
-- load/unload from Lua go through it (native modules can satisfy a dependency); C# calls back
-- into _bridge_load/_bridge_unload for modules that are Lua files.
local N_modules = require "luaxmpp.native.modules";
local bridge = require "core.bridge";

local type, setmetatable, getmetatable, rawget, xpcall, tostring, pairs =
	type, setmetatable, getmetatable, rawget, xpcall, tostring, pairs;
local traceback = debug.traceback;

local M = {};

local modulemap = { ["*"] = {} };

local function host_map(host)
	local map = modulemap[host];
	if not map then
		local h = bridge.hosts[host];
		map = h and h.modules or {};
		modulemap[host] = map;
	end
	return map;
end

local function has_method(env, name)
	return type(rawget(env.module, name)) == "function";
end

local function call_method(env, name, ...)
	return xpcall(env.module[name], traceback, ...);
end

function M.get_module(host, name)
	local map = modulemap[host];
	return map and map[name] or nil;
end

function M.get_modules(host)
	return host_map(host);
end

function M.is_loaded(host, name)
	if M.get_module(host, name) then return true; end
	return N_modules.modules_is_loaded(host, name);
end

-- Inside a runner (module:depends in another module's load, a stanza handler) a load that
-- waits suspends the caller until it ended; outside one the caller gets nil, message at once
-- and the load goes on by itself (bridge.await_or_detach): nothing blocks the loop.
function M.load(host, name)
	local ok, err = bridge.await_or_detach(N_modules.modules_load(host, name));
	if not ok then return nil, err; end
	return M.get_module(host, name) or M.get_module("*", name) or true;
end

function M.unload(host, name)
	return N_modules.modules_unload(host, name);
end

function M.reload(host, name)
	M.unload(host, name);
	return M.load(host, name);
end

-- The modules a host gets by configuration (C# ModuleManager.ModulesFor) as a util.set, and
-- the component module (nil here: components are not hosted by the bridge yet).
function M.get_modules_for_host(host)
	return require "util.set".new(N_modules.modules_for(host) or {}), nil;
end

-- Prosody's module_has_method / call_module_method, for callers that expect them.
M.module_has_method = has_method;
M.call_module_method = call_method;

local function log(level, fmt, ...) return bridge.log("modulemanager", level, fmt, ...); end

-- A global module that defines add_host gets a per-host object on every further host.
local function add_host_instance(host, name, global_env)
	local api = require "core.moduleapi";
	local host_api = setmetatable({
		global = false, host = host, items = {},
		event_handlers = api._new_handler_list(),
	}, { __index = global_env.module });
	api._init_instance(host_api, host, name);
	local host_env = setmetatable({ module = host_api }, { __index = global_env });
	host_api.environment = host_env;
	host_map(host)[name] = host_env;
	local ok, result, err = call_method(global_env, "add_host", host_api);
	if not ok or result == false then
		host_map(host)[name] = nil;
		return nil, tostring(ok and (err or "add_host refused") or result);
	end
	return true;
end

function M._bridge_load(host, name)
	local map = host_map(host);
	if map[name] then return true; end
	local global_env = modulemap["*"][name];
	if global_env then
		if has_method(global_env, "add_host") then return add_host_instance(host, name, global_env); end
		return true; -- already loaded globally: nothing more to do on this host
	end

	local path, text = N_modules.find_module(name);
	if not path then return nil, "module not found: mod_" .. name; end

	local api = require "core.moduleapi";
	local instance = api._new_instance(host, name);
	local env = setmetatable({ module = instance }, { __index = _G });
	instance.environment = env;
	instance.path = path;

	local chunk, err = load(text, "@" .. path, "t", env);
	if not chunk then
		log("error", "Unable to load module '%s': %s", name, err);
		return nil, err;
	end

	map[name] = env;
	local ok;
	ok, err = xpcall(chunk, traceback);
	if ok then
		if has_method(env, "load") then
			-- As Prosody's: a load that raised leaves the module not loaded.
			ok, err = call_method(env, "load");
			if not ok then log("warn", "Error loading module '%s' on '%s': %s", name, host, tostring(err)); end
		end
		if ok and instance.host == "*" then
			-- set_global(): the instance now lives under "*"; load per-host part if any.
			map[name] = nil;
			modulemap["*"][name] = env;
			if host ~= "*" and has_method(env, "add_host") then
				ok, err = add_host_instance(host, name, env);
			end
		end
	end
	if not ok then
		-- Only this instance: a load abandoned earlier may end after a later load took its place.
		if modulemap[instance.host][name] == env then modulemap[instance.host][name] = nil; end
		if map[name] == env then map[name] = nil; end
		instance:_cleanup();
		log("error", "Error initializing module '%s' on '%s': %s", name, host, tostring(err));
		return nil, tostring(err);
	end
	instance:set_status("core", "Loaded", false);
	return true;
end

-- A load the loader gave up on (bridge.load_module: it did not finish): the host forgets the
-- instance now, so that a later load starts afresh; the instance is returned for discarding.
function M._bridge_abandon(host, name)
	local map = host_map(host);
	local env = map[name];
	map[name] = nil;
	return env;
end

-- Discards an abandoned instance once its load ended: whatever it hooked or set up goes.
function M._bridge_discard(env)
	local instance = type(env) == "table" and rawget(env, "module");
	if not instance then return; end
	local map = modulemap[instance.host];
	if map and map[instance.name] == env then map[instance.name] = nil; end
	if has_method(env, "unload") then
		local ok, err = call_method(env, "unload");
		if not ok then log("warn", "Non-fatal error unloading module '%s' on '%s': %s", instance.name, instance.host, tostring(err)); end
	end
	instance:_cleanup();
end

function M._bridge_unload(host, name)
	local env = host_map(host)[name];
	if not env then return false; end
	if host == "*" then
		-- A global module goes with its per-host parts (add_host instances) first.
		for h, map in pairs(modulemap) do
			local host_env = h ~= "*" and map[name];
			local mt = host_env and getmetatable(host_env);
			if mt and mt.__index == env then
				if type(rawget(host_env.module, "unload")) == "function" then
					local ok, err = xpcall(host_env.module.unload, traceback);
					if not ok then log("warn", "Non-fatal error unloading module '%s' on '%s': %s", name, h, tostring(err)); end
				end
				host_env.module:_cleanup();
				map[name] = nil;
			end
		end
	end
	if has_method(env, "unload") then
		local ok, err = call_method(env, "unload");
		if not ok then log("warn", "Non-fatal error unloading module '%s' on '%s': %s", name, host, tostring(err)); end
	end
	env.module:_cleanup();
	host_map(host)[name] = nil;
	if host == "*" then
		-- The C# ModuleManager fires module-unloaded for hosts; the global bus hears of "*" here.
		prosody.events.fire_event("module-unloaded", { module = name, host = "*" });
	end
	return true;
end

-- COMPAT: module:require in Prosody goes through modulemanager.loader.
M.loader = {
	load_code_ext = function(_, plugin, resource, extension, env)
		local names = require "core.moduleapi"._resource_names;
		local path, text = N_modules.find_resource(names(plugin, resource .. "." .. extension));
		if not path and extension == "lib.lua" then path, text = N_modules.find_resource(names(plugin, resource .. ".lua")); end
		if not path then path, text = N_modules.find_resource(names(resource, resource .. "." .. extension)); end
		if not path then return nil, "not found: " .. resource; end
		local f, err = load(text, "@" .. path, "t", env);
		if not f then return nil, err; end
		return f, path;
	end;
};

return M;
