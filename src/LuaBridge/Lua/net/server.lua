-- net.server for the bridge: timers over the C# ServerLoop (util.timer defers to server.timer
-- when it exists), and TCP listeners and outgoing connections for modules that open their own
-- (through core.portmanager: mod_proxy65, mod_admin_telnet, mod_net_multiplex; addclient:
-- mod_onions). Sockets live in C# (LuaRuntime.Listeners.cs, I/O off the loop); this file gives
-- Lua the connection objects of Prosody's net.server API and calls the listener callbacks
-- (onconnect, onincoming, ondrain, ondisconnect, onattach, ondetach) on the loop.
local logger = require "luaxmpp.log";
local N_net = require "luaxmpp.native.net";
local timers = require "luaxmpp.timers";

local type, tostring, xpcall, setmetatable = type, tostring, xpcall, setmetatable;
local traceback = debug.traceback;

local M = {};

local function log(level, fmt, ...)
	logger.write("net.server", level, fmt:format(...));
end

----------------------------------------------------------------------------------------------
-- Timers
----------------------------------------------------------------------------------------------

local timer = {};

-- fn(now, id, param) may return a delay to run again.
function timer.add_task(delay, fn, param)
	local id;
	id = timers.add(delay, function(now) return fn(now, id, param); end);
	return id;
end

function timer.stop(id) return timers.stop(id); end

function timer.reschedule(id, delay) return timers.reschedule(id, delay); end

M.timer = timer;

function M.add_task(delay, fn)
	local id = timer.add_task(delay, fn);
	return { close = function() timers.stop(id); end };
end

----------------------------------------------------------------------------------------------
-- Connections
----------------------------------------------------------------------------------------------

local connections = {}; -- id → connection object
local servers = {};     -- id → server object

local interface = {};
local interface_mt = { __index = interface, __name = "net.server connection" };

function interface_mt:__tostring()
	if self.is_server then return ("server#%d [%s]:%s"):format(self.id, tostring(self.sockname), tostring(self.sockport)); end
	return ("conn#%d [%s]:%s"):format(self.id, tostring(self.peername), tostring(self.peerport));
end

local function read_size_of(mode)
	return type(mode) == "number" and mode or nil; -- "*a" and "*l" read what is there
end

-- Calls listener.on<what>(conn, ...), protected as Prosody does: an error is logged and the
-- connection carries on.
function interface:on(what, ...)
	local listeners = self.listeners;
	local f = listeners and listeners["on" .. what];
	if not f then return; end
	local ok, result = xpcall(f, listeners.onerror or traceback, self, ...);
	if not ok then
		log("error", "Error calling on%s for %s: %s", what, tostring(self), tostring(result));
		return nil, result;
	end
	return result;
end

-- Overridable per connection (server.link replaces them).
function interface:onincoming(data) return self:on("incoming", data); end
function interface:ondrain() return self:on("drain"); end

function interface:write(data)
	if self._closing then return nil, "closed"; end
	self._unanswered = 0;
	data = tostring(data);
	local queued = N_net.net_write(self.id, data);
	if not queued then return nil, "closed"; end
	self._queued = queued;
	return #data;
end
interface.send = interface.write;

local function gone(conn, err)
	if conn._gone then return; end
	conn._gone = true;
	conn._closing = true;
	connections[conn.id] = nil;
	conn:on("disconnect", err);
end

-- Closes once what was written is sent; ondisconnect follows (at once when nothing is pending).
function interface:close()
	if self._closing then return; end
	self._closing = true;
	if N_net.net_close(self.id) then gone(self, nil); end
end

-- Closes now, unsent data dropped, without callbacks.
function interface:destroy()
	self._closing, self._gone = true, true;
	connections[self.id] = nil;
	N_net.net_close(self.id, "now");
end

-- The socket now belongs to a native listener (net_handoff): forget it without callbacks.
function interface:_handed_off()
	self._closing, self._gone = true, true;
	connections[self.id] = nil;
end

function interface:pause() N_net.net_control(self.id, "pause"); end
function interface:resume() N_net.net_control(self.id, "resume"); end
function interface:pausefor(seconds)
	self:pause();
	timer.add_task(seconds, function() if not self._gone then self:resume(); end end);
end

function interface:set_mode(mode)
	local size = read_size_of(mode);
	if size then N_net.net_control(self.id, "read_size", size); end
end

function interface:setlistener(listeners, data)
	self:on("detach");
	self.listeners = listeners;
	self:on("attach", data);
end

function interface:ip() return self.peername or self.sockname; end
function interface:port() return self.peerport or self.sockport; end
function interface:clientport() if self._server then return self.peerport; end return self.sockport; end
function interface:serverport() if self._server then return self.sockport; end return self.peerport; end
function interface:server() return self._server or self; end
function interface:ssl() return false; end
function interface:getfd() return -1; end
-- The socket object of LuaSocket does not exist here; callers probe it for TLS features (getalpn).
function interface:socket() return { getpeername = function() return self.peername, self.peerport; end }; end
function interface:setoption() return true; end
function interface:setreadtimeout() end
function interface:setwritetimeout() end
function interface:set_send() end
function interface:pause_writes() end
function interface:resume_writes() end
function interface:setlimit() end
function interface:starttls()
	log("error", "STARTTLS on %s: TLS is not available on net.server connections here", tostring(self));
	self:close();
end

local function new_connection(id, listeners, read_size)
	local conn = setmetatable({ id = id, listeners = listeners, read_size = read_size }, interface_mt);
	connections[id] = conn;
	return conn;
end

----------------------------------------------------------------------------------------------
-- Listening and connecting
----------------------------------------------------------------------------------------------

-- listen(address, port, listeners, { read_size = ..., tls_ctx = ... }) → server object | nil, error
function M.listen(address, port, listeners, config)
	config = config or {};
	if config.tls_ctx or config.tls_direct then
		return nil, "Direct TLS is not available on net.server listeners here";
	end
	local id, err = N_net.net_listen(address, port, read_size_of(config.read_size));
	if not id then return nil, err; end
	local server = setmetatable({ id = id, is_server = true, listeners = listeners, sockname = address,
		sockport = port ~= 0 and port or err, read_size = config.read_size, hosts = config.sni_hosts,
		input_limit = config.input_limit }, interface_mt);
	function server.close()
		servers[id] = nil;
		N_net.net_close(id, "server");
	end
	servers[id] = server;
	log("debug", "Listening on [%s]:%d", address, server.sockport);
	return server;
end

function M.addserver(address, port, listeners, read_size, tls_ctx)
	return M.listen(address, port, listeners, { read_size = read_size, tls_ctx = tls_ctx });
end

-- addclient(address, port, listeners, read_size, tls_ctx, typ, extra) → connection; onconnect
-- or ondisconnect(conn, error) follows.
function M.addclient(address, port, listeners, read_size, tls_ctx, _, extra)
	if tls_ctx then return nil, "TLS is not available on net.server connections here"; end
	local id, err = N_net.net_connect(address, port, read_size_of(read_size));
	if not id then return nil, err; end
	local conn = new_connection(id, listeners, read_size);
	conn.peername, conn.peerport, conn.extra = address, port, extra;
	return conn;
end

-- Relays what arrives on `from` to `to`, reading on only when `to` has sent it (Prosody's link).
function M.link(from, to, read_size)
	function from:onincoming(data)
		self:pause();
		to:write(data);
	end
	function to:ondrain() from:resume(); end
	from:set_mode(read_size);
end

function M.wrapclient()
	return nil, "LuaSocket sockets are not available here (use server.addclient)";
end

function M.watchfd()
	return nil, "watching file descriptors is not available here";
end

function M.closeall()
	for _, conn in pairs(connections) do conn:close(); end
end

function M.get_backend() return "luaxmpp"; end
function M.loop() end
function M.setquitting(quit) if quit then M.closeall(); end end
function M.set_config() end
function M.hook_signal() end

-- Events from C# (LuaRuntime.Listeners.cs), on the loop.
local events = {};

function events.accept(id, server_id, ip, port, sockip, sockport)
	local server = servers[server_id];
	if not server then N_net.net_close(id, "now"); return; end
	local conn = new_connection(id, server.listeners, server.read_size);
	conn._server, conn._input_limit, conn._unanswered = server, server.input_limit, 0;
	conn.peername, conn.peerport, conn.sockname, conn.sockport = ip, port, sockip, sockport;
	log("debug", "Accepted %s on %s", tostring(conn), tostring(server));
	conn:on("connect");
end

function events.connect(id, ip, port, sockip, sockport)
	local conn = connections[id];
	if not conn then return; end
	conn.peername, conn.peerport, conn.sockname, conn.sockport = ip or conn.peername, port or conn.peerport, sockip, sockport;
	conn:on("connect");
end

-- A listener given input_limit (core.portmanager: the admin console) takes at most that many
-- bytes while it writes nothing back: a line-oriented console answers every line, and a line
-- it never sees the end of would otherwise grow without bound (mod_admin_telnet rescans its
-- whole buffer on every read). Relays set up by server.link are not counted.
local function over_limit(conn, data)
	local limit = conn._input_limit;
	if not limit or conn.onincoming ~= interface.onincoming then return false; end
	conn._unanswered = conn._unanswered + #data;
	if conn._unanswered <= limit then return false; end
	log("warn", "Closing %s: %d bytes of input without an answer (over the listener's limit of %d)",
		tostring(conn), conn._unanswered, limit);
	N_net.net_close(conn.id, "now");
	gone(conn, "input limit exceeded");
	return true;
end

function events.incoming(id, data)
	local conn = connections[id];
	if conn and not conn._closing and not over_limit(conn, data) then conn:onincoming(data); end
end

function events.drain(id)
	local conn = connections[id];
	if conn then conn:ondrain(); end
end

function events.disconnect(id, err)
	local conn = connections[id];
	if conn then gone(conn, err); end
end

N_net.net_handler(function(kind, id, ...)
	local handler = events[kind];
	if handler then return handler(id, ...); end
end);

M._connections = connections;

return M;
