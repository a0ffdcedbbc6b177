-- The Lua half of the bridge: event buses over the C# EventBus, session/host/bare tables that
-- reflect the C# SessionManager, and the entry points the C# runtime calls.
--
-- Dispatch design (contract §0.8): when Lua fires an event, the chain is walked here, in Lua,
-- so a Lua handler that yields (util.async) has no C# frame between it and its runner. C#
-- handlers in the chain are called one by one through N.fire_native. When C# fires an event,
-- each Lua handler is called through entry_points.call_handler under xpcall; such a handler
-- cannot yield (there is no runner around a C#-originated dispatch) — see LuaRuntime remarks.
local N = require "luaxmpp.native";
local C = require "luaxmpp.checked";

local type, pairs, next, setmetatable, rawget, rawset, select, tostring =
	type, pairs, next, setmetatable, rawget, rawset, select, tostring;
local xpcall, traceback = xpcall, debug.traceback;

local bridge = {};

-- table → C# session id, for every table that stands for a C# Session (c2s sessions, hosts).
local sid_of = setmetatable({}, { __mode = "k" });
bridge.sid_of = sid_of;

---------------------------------------------------------------------------------------------
-- Event buses
---------------------------------------------------------------------------------------------

-- A native (C#) handler as Lua sees it in a chain: calling it runs the C# callback.
local native_stub_mt = {
	__call = function(stub, event) return N.fire_native(stub.bus, stub.id, event); end;
};

local chain_cache, cached_version = {}, -1;

-- The chain for (bus, name): a list of Lua functions and native stubs, highest priority first.
local function get_chain(bus, name)
	local version = N.chain_version();
	if version ~= cached_version then
		chain_cache, cached_version = {}, version;
	end
	local per_bus = chain_cache[bus];
	if not per_bus then per_bus = {}; chain_cache[bus] = per_bus; end
	local chain = per_bus[name];
	if chain == nil then
		chain = N.chain(bus, name) or false;
		if chain then
			for i = 1, #chain do
				local h = chain[i];
				if type(h) == "number" then chain[i] = setmetatable({ bus = bus, id = h }, native_stub_mt); end
			end
		end
		per_bus[name] = chain;
	end
	return chain or nil;
end

local function fire(bus, name, event)
	local chain = get_chain(bus, name);
	if not chain then return nil; end
	for i = 1, #chain do
		local ret = chain[i](event);
		if ret ~= nil then return ret; end
	end
	return nil;
end
bridge.fire = fire;

local buses = {};

local function new_bus(bus)
	local ids = {}; -- name → handler → id
	local obj = {};

	local function add(name, handler, priority, owner)
		local per_name = ids[name];
		if not per_name then per_name = {}; ids[name] = per_name; end
		local old = per_name[handler];
		if old then N.unhook(old); end -- util.events keeps one entry per handler
		per_name[handler] = C.hook(bus, name, handler, priority or 0, owner);
		return true;
	end

	function obj.add_handler(name, handler, priority) return add(name, handler, priority, nil); end
	-- For module:hook: the owner lets C# drop the module's handlers on unload.
	obj._add_owned_handler = add;
	function obj.remove_handler(name, handler)
		local per_name = ids[name];
		local id = per_name and per_name[handler];
		if not id then return nil; end
		per_name[handler] = nil;
		N.unhook(id);
		return true;
	end
	function obj.fire_event(name, event) return fire(bus, name, event); end
	function obj.get_handlers(name) return get_chain(bus, name); end
	function obj.add_handlers(handlers, priority)
		for name, handler in pairs(handlers) do add(name, handler, priority); end
	end
	function obj.remove_handlers(handlers)
		for name, handler in pairs(handlers) do obj.remove_handler(name, handler); end
	end
	-- Wrappers (util.events add_wrapper) are not supported by the C# bus yet.
	function obj.add_wrapper() return nil, "event wrappers are not supported"; end
	function obj.remove_wrapper() return nil; end
	obj.wrappers = { add_handler = obj.add_wrapper, remove_handler = obj.remove_wrapper };
	-- mod_csi reads events._handlers[name] to see whether anything listens.
	obj._handlers = setmetatable({}, { __index = function(_, name) return get_chain(bus, name); end });
	return obj;
end

local function get_bus(name)
	local b = buses[name];
	if not b then b = new_bus(name); buses[name] = b; end
	return b;
end
bridge.get_bus = get_bus;
bridge.global_events = get_bus("*");

---------------------------------------------------------------------------------------------
-- Sessions
---------------------------------------------------------------------------------------------

-- Fields whose truth lives in the C# Session (both directions go through C#).
local synced = {
	type = true, host = true, username = true, resource = true, full_jid = true,
	priority = true, presence = true, interested = true, destroyed = true,
	ip = true, secure = true, streamid = true,
};

local session_mt = {
	__index = function(s, key)
		if synced[key] then
			local sid = sid_of[s];
			if sid then return N.session_get(sid, key); end
		end
		return nil;
	end;
	__newindex = function(s, key, value)
		if synced[key] then
			local sid = sid_of[s];
			if sid then N.session_set(sid, key, value); return; end
		end
		rawset(s, key, value);
	end;
};

local conn_methods = {};
local conn_mt = { __index = conn_methods };
function conn_methods:ip() return N.session_get(self._sid, "ip"); end
function conn_methods:close() return N.session_close(self._sid, nil, nil); end
function conn_methods:write(data) return N.session_send_raw(self._sid, data); end
function conn_methods:ssl() return N.session_get(self._sid, "secure"); end
function conn_methods:setoption() return true; end
function conn_methods:pause() end
function conn_methods:resume() end
function conn_methods:socket() return { info = function() return nil; end }; end

-- Prosody's util.filters shape when that library is present, a compatible minimal one otherwise.
local function initialize_filters(session)
	local ok, filters = pcall(require, "util.filters");
	if ok and type(filters) == "table" and filters.initialize then
		return filters.initialize(session);
	end
	local lists = {};
	session.filters = lists;
	local function filter(kind, data)
		local list = lists[kind];
		if list then
			for i = 1, #list do
				data = list[i](data, session);
				if data == nil then break; end
			end
		end
		return data;
	end
	return filter;
end

local function new_session(sid, logname)
	local session = setmetatable({}, session_mt);
	sid_of[session] = sid;
	local conn = setmetatable({ _sid = sid }, conn_mt);
	session.id = logname;
	session.base_type = "c2s";
	session.conn = conn;
	session.log = function(level, fmt, ...) return bridge.log(logname, level, fmt, ...); end;

	local filter = initialize_filters(session);
	session.filter = filter;

	-- send/rawsend are real closures over `session`, `filter` and `conn`, so mod_smacks can
	-- rebind them through the function metatable on resume (contract §3.7).
	local function rawsend(t)
		local c = conn;
		if not c then return false; end
		t = session.filter("bytes/out", tostring(t));
		if t == nil then return true; end
		return N.session_send_raw(c._sid, t);
	end
	local function send(t)
		if type(t) == "table" and t.name then
			t = filter("stanzas/out", t);
			if t == nil then return true; end
			local c = session.conn;
			if not c then return false; end
			return N.session_send(c._sid, t);
		end
		return rawsend(t);
	end
	session.rawsend = rawsend;
	session.send = send;
	session.close = function(self, reason)
		local s = self or session;
		local host = buses[s.host];
		if host then host.fire_event("pre-session-close", { session = s, reason = reason }); end
		local condition, text = reason, nil;
		if type(reason) == "table" then
			condition, text = reason.condition, reason.text;
			if reason.name then condition = nil; end -- a stanza: sent as-is below
		end
		local c = s.conn;
		if c then N.session_close(c._sid, condition, text); else N.session_close(sid, condition, text); end
		s.send = function() return false; end;
		return true;
	end;
	return session;
end

-- Bare sessions: bare_sessions["u@h"] == hosts[h].sessions[u] (contract §3.6).
local function new_bare(bare)
	local resources = setmetatable({}, {
		__index = function(_, resource) return N.full_session(bare .. "/" .. tostring(resource)); end;
		__pairs = function()
			local list = N.bare_resources(bare) or {};
			local map = {};
			for i = 1, #list, 2 do map[list[i]] = list[i + 1]; end
			return next, map, nil;
		end;
	});
	return { sessions = resources };
end

bridge.full_sessions = setmetatable({}, {
	__index = function(_, jid) if type(jid) == "string" then return N.full_session(jid); end end;
	__pairs = function()
		local list = N.full_list() or {};
		local map = {};
		for i = 1, #list, 2 do map[list[i]] = list[i + 1]; end
		return next, map, nil;
	end;
});

bridge.bare_sessions = setmetatable({}, {
	__index = function(_, bare) if type(bare) == "string" then return N.bare_session(bare); end end;
	__pairs = function()
		local list = N.bare_list(nil) or {};
		local map = {};
		for i = 1, #list, 2 do map[list[i]] = list[i + 1]; end
		return next, map, nil;
	end;
});

---------------------------------------------------------------------------------------------
-- Hosts
---------------------------------------------------------------------------------------------

local function new_host(name, kind, sid)
	local host = { host = name, type = kind, events = get_bus(name), modules = {} };
	sid_of[host] = sid;
	if kind == "local" then
		host.sessions = setmetatable({}, {
			__index = function(_, user) if type(user) == "string" then return N.bare_session(user .. "@" .. name); end end;
			__pairs = function()
				local list = N.bare_list(name) or {};
				local map = {};
				for i = 1, #list, 2 do map[list[i]:match("^[^@]*")] = list[i + 1]; end
				return next, map, nil;
			end;
		});
		host.users = { name = N.auth_name(name) };
	end
	host.send = function(stanza) return N.route(host, stanza); end;
	return host;
end

bridge.hosts = setmetatable({}, {
	__index = function(t, name)
		if type(name) ~= "string" then return nil; end
		local kind, sid = N.host_info(name);
		if not kind then return nil; end
		local host = new_host(name, kind, sid);
		rawset(t, name, host);
		return host;
	end;
	__pairs = function(t)
		for _, name in pairs(N.host_list() or {}) do local _ = t[name]; end
		return next, t, nil;
	end;
});

---------------------------------------------------------------------------------------------
-- Routing and logging
---------------------------------------------------------------------------------------------

function bridge.core_post_stanza(origin, stanza, preevents) return C.post(origin, stanza, not not preevents); end
function bridge.core_process_stanza(origin, stanza) return C.process(origin, stanza); end
function bridge.core_route_stanza(origin, stanza) return C.route(origin, stanza); end

-- util.format semantics when available (never raises); a tolerant fallback otherwise.
local format;
local function get_format()
	if format == nil then
		local ok, f = pcall(require, "util.format");
		format = ok and type(f) == "table" and f.format or false;
	end
	return format;
end

function bridge.log(source, level, fmt, ...)
	local message = fmt;
	if select("#", ...) > 0 or type(fmt) ~= "string" then
		local f = get_format();
		if f then
			message = f(fmt, ...);
		else
			local args = table.pack(...);
			for i = 1, args.n do
				local a = args[i];
				if type(a) ~= "number" then args[i] = tostring(a); end
			end
			local ok, text = pcall(string.format, tostring(fmt), table.unpack(args, 1, args.n));
			message = ok and text or tostring(fmt);
		end
	end
	N.log(source, tostring(level), tostring(message));
end

---------------------------------------------------------------------------------------------
-- Entry points for C#
---------------------------------------------------------------------------------------------

local entry = {};
bridge.entry_points = entry;
entry.sid_of = sid_of;
entry.new_session = new_session;
entry.new_bare = new_bare;

-- Calls a handler with a traceback on error: returns ok, result.
function entry.call_handler(handler, event)
	return xpcall(handler, traceback, event);
end

-- Calls any function with a traceback on error: returns ok, ... .
function entry.call(f, ...)
	return xpcall(f, traceback, ...);
end

function entry.load_module(host, name)
	return require "core.modulemanager"._bridge_load(host, name);
end

function entry.unload_module(host, name)
	return require "core.modulemanager"._bridge_unload(host, name);
end

-- t[k] with metamethods, for C# (which only calls it under pcall).
function entry.index(t, k) return t[k]; end

function entry.stanza_mt()
	local ok, st = pcall(require, "util.stanza");
	if ok and type(st) == "table" then return st.stanza_mt; end
	return nil;
end

-- Runs a chunk of Lua (tests, diagnostics) in the global environment.
function entry.run(text, chunkname)
	local f, err = load(text, chunkname or "=run", "t");
	if not f then return false, err; end
	return xpcall(f, traceback);
end

return bridge;
