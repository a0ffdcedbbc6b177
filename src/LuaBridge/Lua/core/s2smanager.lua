-- core.s2smanager for the bridge: LuaXmpp has no server-to-server connections yet, so there are
-- no s2s sessions; the tables and functions modules expect exist and stay empty.
local M = {};

M.incoming_s2s = {};

function M.new_incoming() return nil, "s2s is not supported"; end
-- A Lua-side outgoing session for modules that connect by themselves (mod_onions through a
-- SOCKS5 proxy): registered in hosts[from].s2sout as Prosody does; the C# s2s never sees it.
local next_id = 0;
function M.new_outgoing(from_host, to_host)
	local host = prosody.hosts[from_host];
	if not host then return nil, "unknown host " .. tostring(from_host); end
	next_id = next_id + 1;
	local session = { type = "s2sout_unauthed", direction = "outgoing", notopen = true,
		from_host = from_host, to_host = to_host, host = from_host,
		log = require "util.logger".init("s2sout-lua" .. next_id) };
	host.s2sout[to_host] = session;
	return session;
end
function M.make_authenticated() return false, "s2s is not supported"; end
function M.destroy_session() end
function M.retire_session(session) return session; end
function M.get_incoming_session() return nil; end

return M;
