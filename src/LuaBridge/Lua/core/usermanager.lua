-- core.usermanager for the bridge: accounts through the host's C# IAuthProvider.
-- Calls suspend the calling runner until the provider's Task completes (see storagemanager).
local N = require "luaxmpp.native";
local await = require "core.bridge".await;

local M = {};

function M.user_exists(username, host) return await(N.user_exists(host, username)) == true; end
function M.create_user(username, password, host) return await(N.user_create(host, username, password)); end
function M.set_password(username, password, host) return await(N.user_set_password(host, username, password)); end
function M.delete_user(username, host)
	local ok, err = await(N.user_delete(host, username));
	if ok then prosody.events.fire_event("user-deleted", { username = username, host = host }); end
	return ok, err;
end
function M.test_password(username, host, password) return await(N.user_test_password(host, username, password)) == true; end
function M.users(host)
	local list = await(N.user_list(host)) or {};
	local i = 0;
	return function() i = i + 1; return list[i]; end;
end
function M.get_provider(host) return prosody.hosts[host] and prosody.hosts[host].users; end
function M.get_sasl_handler() return nil, "SASL is handled by the C# core"; end

-- Admins from the `admins` option (host, then global), compared as bare JIDs.
function M.is_admin(jid, host)
	if type(jid) ~= "string" then return false; end
	local bare = jid:match("^[^/]*");
	local function listed(h)
		local admins = N.get_option(h, "admins");
		if type(admins) == "string" then admins = { admins }; end
		if type(admins) ~= "table" then return false; end
		for _, admin in ipairs(admins) do
			if admin == bare then return true; end
		end
		return false;
	end
	return listed(host or "*") or listed("*");
end

return M;
