-- core.hostmanager for the bridge: hosts are activated by the C# XmppServer.
local hosts_lib = require "luaxmpp.hosts";

local M = {};

-- Hosts below this one (components such as conference.example.com): jid → true.
function M.get_children(host)
	local children = {};
	local suffix = "." .. host;
	for _, name in ipairs(hosts_lib.list()) do
		if #name > #suffix and name:sub(-#suffix) == suffix then children[name] = true; end
	end
	return children;
end

function M.activate() return nil, "hosts are activated by the server core"; end
function M.deactivate() return nil, "hosts are deactivated by the server core"; end

return M;
