-- The part of LuaSocket's `socket` module that works without blocking the loop: the clock
-- (mod_storage_ldap, mod_firewall's timestamps) and sleeping refused. Sockets of its own a
-- module should open through net.server (server.listen, server.addclient), which this says.
local now = require "util.time".now;

local function unavailable(name)
	return function()
		return nil, "socket." .. name .. " (blocking LuaSocket) is not available here; use net.server";
	end
end

return {
	_VERSION = "LuaSocket 3.0 (luaxmpp: clock only)";
	gettime = now;
	sleep = function() error("socket.sleep would block the server's loop", 2); end;
	tcp = unavailable("tcp"), tcp4 = unavailable("tcp4"), tcp6 = unavailable("tcp6");
	udp = unavailable("udp"), bind = unavailable("bind"), connect = unavailable("connect");
};
