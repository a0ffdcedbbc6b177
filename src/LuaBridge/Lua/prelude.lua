-- LuaXmpp bridge prelude: runs once in a fresh state, before any module.
-- Receives the native primitives, one table per area (C# functions, see LuaRuntime.Natives.cs
-- and docs/BRIDGE.md "Native areas"), and the runtime settings. Natives never raise: on failure
-- they return nil plus a message, and the checked views below turn that into error() on the Lua
-- side (the C# side must never longjmp through .NET frames).
local areas, settings = ...;

local select, error, type, tostring, pairs = select, error, type, tostring, pairs;

-- The checked view of an area: nil + message → error(). Natives that may return a legitimate
-- nil always return exactly one value in that case, so the two cannot be confused.
local function check(name, first, ...)
	if first == nil and select("#", ...) == 1 and type((...)) == "string" then
		error(name .. ": " .. (...), 3);
	end
	return first, ...;
end

local function checked_view(area, N)
	return setmetatable({}, {
		__index = function(t, name)
			local f = N[name];
			if f == nil then error("no native primitive " .. area .. "." .. tostring(name), 2); end
			local wrapped = function(...) return check(name, f(...)); end;
			rawset(t, name, wrapped);
			return wrapped;
		end;
	});
end

-- Core Lua files reach an area's primitives through require "luaxmpp.native.<area>" (raw) or
-- "luaxmpp.checked.<area>"; modules use the shims (require "luaxmpp.<area>") instead.
for area, N in pairs(areas) do
	package.loaded["luaxmpp.native." .. area] = N;
	package.loaded["luaxmpp.checked." .. area] = checked_view(area, N);
end
local native_log = areas.log;

-- COMPAT (contract §0.1): Prosody gives every function a metatable through which f.x reads the
-- closure's upvalue x and f.x = v rebinds it. mod_smacks rebinds send/filter upvalues on resume.
do
	local getupvalue, setupvalue = debug.getupvalue, debug.setupvalue;
	local function find_upvalue(f, name)
		local i = 1;
		while true do
			local n = getupvalue(f, i);
			if n == nil then return nil; end
			if n == name then return i; end
			i = i + 1;
		end
	end
	debug.setmetatable(function () end, {
		__index = function (f, name)
			local i = find_upvalue(f, name);
			if i then
				local _, value = getupvalue(f, i);
				return value;
			end
			return nil;
		end;
		__newindex = function (f, name, value)
			local i = find_upvalue(f, name);
			if i then setupvalue(f, i, value); end
		end;
	});
end

-- import(lib, ...) returns the named fields of a library, or the library itself (util/import.lua).
function import(lib, ...)
	local m = require(lib);
	local n = select("#", ...);
	if n == 0 then return m; end
	local out = {};
	for i = 1, n do
		local name = select(i, ...);
		out[i] = m[name];
		if out[i] == nil then error("import: " .. lib .. " has no field " .. tostring(name), 2); end
	end
	return table.unpack(out, 1, n);
end

-- core.*, net.* and util.* come from the files compiled into the assembly, through the searcher
-- LuaLibraries installs first in package.searchers.

-- Stand-ins for libraries Prosody gets elsewhere (LuaSocket's socket.url, the file-based
-- util.datamanager). package.preload is consulted after the embedded searcher, so a real
-- implementation, once embedded, takes over.
package.preload["socket.url"] = function() return require "core.compat.socket_url"; end;
package.preload["socket"] = function() return require "net.luasocket"; end;
package.preload["util.datamanager"] = function() return require "core.compat.datamanager"; end;
-- LuaBitOp's API (mod_pubsub_mqtt), on Lua 5.4's integer operators.
package.preload["bit"] = function() return require "util.bitop"; end;

-- The prosody global (contract §1.2). hosts, full_sessions and bare_sessions reflect the C#
-- SessionManager lazily: see core/bridge.lua.
prosody = {
	version = settings.version;
	start_time = settings.start_time;
	platform = "posix";
	process_type = "prosody";
	-- Prosody locks _G after startup; modules that load C libraries unlock it around require.
	lock_globals = function() end;
	incoming_s2s = {}; -- no server-to-server connections yet
	unlock_globals = function() end;
	paths = { source = settings.source, config = settings.config, data = settings.data, plugins = settings.plugins };
};

local bridge = require "core.bridge";
-- Libraries log through util.logger ("http.server", "datamanager", ...): into the server's log,
-- not stdout.
require "util.logger".setwriter(function(source, level, message) native_log.log(source, level, message); end);
prosody.hosts = bridge.hosts;
prosody.full_sessions = bridge.full_sessions;
prosody.bare_sessions = bridge.bare_sessions;
prosody.events = bridge.global_events;
prosody.core_post_stanza = bridge.core_post_stanza;
prosody.core_process_stanza = bridge.core_process_stanza;
prosody.core_route_stanza = bridge.core_route_stanza;
hosts, full_sessions, bare_sessions = prosody.hosts, prosody.full_sessions, prosody.bare_sessions;

-- prosody.shutdown(reason, code): the same orderly stop as SIGTERM (luaxmpp.process); the
-- reason is logged and "server-stopping" fires from C# as it stops.
function prosody.shutdown(reason, code)
	prosody.shutdown_reason, prosody.shutdown_code = reason, code;
	require "util.logger".init("general")("info", "Shutting down: %s", tostring(reason or "unknown reason"));
	return require "luaxmpp.process".request_shutdown();
end
function prosody.reload_config()
	return nil, "config reload is not supported by LuaXmpp yet: restart the server";
end
-- Work that must run in a coroutine on the loop thread (mod_posix signal handlers).
prosody.main_thread = require "util.async".runner(function(job) job(); end);
-- LuaXmpp always runs in the foreground (prosody -F); service managers detach it.
prosody.opts = { daemonize = false };
prosody.arg = {};
prosody.installed = true;

-- What C# calls into: returned to the runtime, which keeps a registry reference to each.
return bridge.entry_points;
