-- core.authproviders (LuaXmpp's own): the C# SASL and account code calling a Lua auth provider
-- (mod_auth_insecure, mod_auth_anonymous, Prosody's mod_auth_internal_*, ...), the one whose name
-- the host's `authentication` option gives, as Prosody's usermanager picks it among the
-- "auth-provider" items. Every operation returns plain values C# can read.

local hosts = require "luaxmpp.hosts";
local scram = require "util.sasl.scram";
local random = require "util.random";

local M = {};

local function provider_for(host)
	local wanted = hosts.get_option(host, "authentication");
	for _, item in ipairs(hosts.items(host, "auth-provider") or {}) do
		if item.name == wanted then return item; end
	end
	return nil, ("authentication = %q on %s: mod_auth_%s is not loaded"):format(tostring(wanted), host, tostring(wanted));
end

-- The provider's SASL handler (a util.sasl object), when it has one.
local function sasl_handler(provider, host)
	if not provider.get_sasl_handler then return nil; end
	local ok, handler = pcall(provider.get_sasl_handler, { host = host });
	if ok then return handler; end
end

local ops = {};

function ops.exists(p, _, user) return p.user_exists and p.user_exists(user) and true or false; end
function ops.create(p, _, user, password)
	if not p.create_user then return false, "not-supported"; end
	return p.create_user(user, password);
end
function ops.set_password(p, _, user, password)
	if not p.set_password then return false, "not-supported"; end
	return p.set_password(user, password);
end
function ops.delete(p, _, user)
	if not p.delete_user then return false, "not-supported"; end
	return p.delete_user(user);
end

-- PLAIN: test_password, or compare with get_password (RFC 4616 via util.sasl's plain backend).
function ops.test(p, host, user, password)
	if p.test_password then return p.test_password(user, password) and true or false; end
	if p.get_password then return p.get_password(user) == password; end
	local handler = sasl_handler(p, host);
	local plain_test = handler and handler.profile.plain_test;
	if plain_test then return plain_test(handler, user, password, host) and true or false; end
	return false;
end

-- SCRAM keys for "sha_1" or "sha_256": stored_key, server_key, iterations, salt.
function ops.scram(p, host, user, hash)
	local handler = sasl_handler(p, host);
	local backend = handler and handler.profile["scram_" .. hash];
	if backend then
		local stored, server, iterations, salt, state = backend(handler, user, host);
		if state then return stored, server, iterations, salt; end
		return nil;
	end
	local password = p.get_password and p.get_password(user);
	if type(password) ~= "string" then return nil; end
	local hasher = scram.hashers[hash == "sha_1" and "SHA-1" or "SHA-256"];
	local salt, iterations = random.bytes(16), 4096;
	local ok, stored, server = hasher(password, salt, iterations);
	if not ok then return nil; end
	return stored, server, iterations, salt;
end

-- ANONYMOUS (RFC 4505): the handler's own mechanism picks a random username its profile's
-- anonymous() accepts (util.sasl.anonymous); nil when it offers no ANONYMOUS.
function ops.anonymous(p, host)
	local handler = sasl_handler(p, host);
	if not (handler and handler:select("ANONYMOUS")) then return nil; end
	if handler:process("") ~= "success" then return nil; end
	return handler.username;
end

function ops.users(p)
	local list = {};
	if p.users then
		for user in p.users() do list[#list + 1] = user; end
	end
	return list;
end

-- The mechanisms the provider's SASL handler offers, or nil when it has none (then all).
function ops.mechanisms(p, host)
	local handler = sasl_handler(p, host);
	if not handler then return nil; end
	local list = {};
	for name in pairs(handler:mechanisms()) do list[#list + 1] = name; end
	table.sort(list);
	return list;
end

function M.available(host) return provider_for(host) ~= nil; end

-- The Lua provider's own SASL handler for a session (usermanager.get_sasl_handler), when the
-- host's provider is a Lua module that has one.
function M.sasl_handler(host, session)
	local provider = provider_for(host);
	if not (provider and provider.get_sasl_handler) then return nil; end
	return provider.get_sasl_handler(session);
end

function M.call(op, host, ...)
	local provider, err = provider_for(host);
	if not provider then error(err, 0); end
	return ops[op](provider, host, ...);
end

-- M.call inside a util.async runner of its own, so a provider whose backend waits (mod_auth_sql
-- over DBI) suspends instead of blocking the loop. Returns true and call's results (or false and
-- the error) when it finished at once; otherwise "pending", and N_dbi.auth_done(id, ok, ...) follows.
function M.call_async(id, op, host, ...)
	local async = require "util.async";
	local N_dbi = require "luaxmpp.native.dbi";
	local args, outcome = table.pack(op, host, ...), nil;
	local runner = async.runner(function()
		local results = table.pack(xpcall(M.call, debug.traceback, table.unpack(args, 1, args.n)));
		if outcome == "pending" then
			N_dbi.auth_done(id, table.unpack(results, 1, results.n));
		else
			outcome = results;
		end
	end, {
		error = function(_, err) if outcome == "pending" then N_dbi.auth_done(id, false, tostring(err)); end end,
	});
	runner:run(true);
	if outcome then return table.unpack(outcome, 1, outcome.n); end
	outcome = "pending";
	return "pending";
end

return M;
