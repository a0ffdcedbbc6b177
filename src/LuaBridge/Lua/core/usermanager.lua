-- core.usermanager for the bridge: accounts through the host's C# IAuthProvider.
-- Calls suspend the calling runner until the provider's Task completes (see storagemanager).
local hosts = require "luaxmpp.hosts";
local N_sessions = require "luaxmpp.native.sessions";
local N_storage = require "luaxmpp.native.storage";
local await = require "core.bridge".await;

local M = {};

function M.user_exists(username, host) return await(N_storage.user_exists(host, username)) == true; end
function M.create_user(username, password, host) return await(N_storage.user_create(host, username, password)); end
function M.set_password(username, password, host) return await(N_storage.user_set_password(host, username, password)); end
function M.delete_user(username, host)
	local ok, err = await(N_storage.user_delete(host, username));
	if ok then prosody.events.fire_event("user-deleted", { username = username, host = host }); end
	return ok, err;
end
function M.test_password(username, host, password) return await(N_storage.user_test_password(host, username, password)) == true; end
function M.users(host)
	local list = await(N_storage.user_list(host)) or {};
	local i = 0;
	return function() i = i + 1; return list[i]; end;
end
function M.get_provider(host) return prosody.hosts[host] and prosody.hosts[host].users; end
-- A util.sasl handler over the host's accounts, for Lua SASL profiles (mod_sasl2, XEP-0388):
-- a Lua provider's own handler, or one whose backends are the native provider's stored
-- credentials: SCRAM-SHA-1/256 from the stored keys (RFC 5802 §3), PLAIN by test_password.
-- Failures are reported to the core (log line, auth failure throttle) as the native SASL's are.
function M.get_sasl_handler(host, session)
	local handler = require "core.authproviders".sasl_handler(host, session);
	if not handler then
		local function scram(hash)
			return function(_, username)
				local stored_key, server_key, iterations, salt = await(N_storage.user_scram(host, username, hash));
				if not stored_key then return nil; end
				return stored_key, server_key, iterations, salt, true;
			end;
		end
		handler = require "util.sasl".new(host, {
			plain_test = function(_, username, password) return M.test_password(username, host, password), true; end;
			scram_sha_1 = scram("sha_1");
			scram_sha_256 = scram("sha_256");
		});
	end
	local sid = session and require "core.bridge".sid_of[session];
	if sid then
		local process = handler.process;
		handler.process = function(self, message)
			local status, condition, text = process(self, message);
			if status == "failure" then N_sessions.session_auth_failed(sid, self.username, condition); end
			return status, condition, text;
		end;
	end
	return handler;
end

-- Admins from the `admins` option (host, then global), compared as bare JIDs.
function M.is_admin(jid, host)
	if type(jid) ~= "string" then return false; end
	local bare = jid:match("^[^/]*");
	local function listed(h)
		local admins = hosts.get_option(h, "admins");
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
