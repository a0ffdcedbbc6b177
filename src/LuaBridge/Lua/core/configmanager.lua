-- core.configmanager for the bridge: read access to the C# ServerConfig.
local hosts = require "luaxmpp.hosts";

local M = {};

function M.get(host, key)
	if key == nil then key, host = host, "*"; end
	return hosts.get_option(host or "*", key);
end

function M.rawget(host, key) return hosts.get_option(host or "*", key); end

function M.set() return nil, "the configuration is read-only at runtime"; end

-- Kept here for modules written before it moved to util.paths (mod_auth_sql), as Prosody keeps it.
M.resolve_relative_path = require "util.paths".resolve_relative_path;

return M;
