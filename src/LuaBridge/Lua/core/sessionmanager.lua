-- core.sessionmanager for the bridge: the session registry lives in the C# SessionManager;
-- these helpers forward to it.
local N_sessions = require "luaxmpp.native.sessions";
local bridge = require "core.bridge";

local M = {};

local function sid(session) return bridge.sid_of[session]; end

-- A retired session keeps only log and id; what is left answers as a destroyed session does
-- (contract §3.1): sending returns false, closing does nothing, filters pass data through.
local resting_mt = {
	__index = {
		destroyed = true;
		type = "c2s_destroyed";
		close = function() return true; end;
		filter = function(_, data) return data; end;
	};
};

function M.retire_session(session)
	local log = rawget(session, "log");
	for k in pairs(session) do
		if k ~= "log" and k ~= "id" then rawset(session, k, nil); end
	end
	local function discard() return false; end
	rawset(session, "send", discard);
	rawset(session, "rawsend", discard);
	rawset(session, "data", function() end);
	rawset(session, "thread", { run = function() return false; end });
	if not log then rawset(session, "log", function() end); end
	return setmetatable(session, resting_mt);
end

-- The C# SessionManager destroys (pre-resource-unbind, registry removal, resource-unbind);
-- then the Lua table is retired as Prosody's destroy_session does.
function M.destroy_session(session, err)
	if session.destroyed then return; end
	local id = sid(session);
	if id then N_sessions.session_destroy(id, err and tostring(err) or nil); end
	M.retire_session(session);
end

-- For Lua SASL profiles (mod_sasl2): the C# stream handler sees the session authenticated
-- after the element's pass and lifts the pre-authentication limits then.
function M.make_authenticated(session, username)
	session.username = username;
	local handler = session.sasl_handler;
	if handler and handler.selected then session.auth_mechanism = handler.selected; end
	if session.type == "c2s_unauthed" then session.type = "c2s_unbound"; end
	return true;
end

-- Resource binding goes to SessionManager.BindAsync (conflict policy, roster loading). Inside a
-- util.async runner the call waits for it; outside one it only succeeds when binding finished at
-- once. Returns true, or nil, error type, condition, text (as Prosody's bind_resource).
function M.bind_resource(session, resource)
	local id = sid(session);
	if not id then return nil, "cancel", "internal-server-error", "Not a client session"; end
	local async = require "util.async";
	local outcome;
	local wait, done;
	if async.ready() then wait, done = async.waiter(); end
	N_sessions.session_bind(id, resource, function(etype, condition, text)
		outcome = { etype, condition, text };
		if done then done(); end
	end);
	if not outcome then
		if not wait then return nil, "wait", "internal-server-error", "Resource binding did not complete at once"; end
		wait();
	end
	if outcome[1] then return nil, outcome[1], outcome[2], outcome[3]; end
	return true;
end

-- Sends a copy, addressed to each, to the account's resources that pass `wanted`; returns how many got it.
local function send_to_resources(username, host, stanza, wanted)
	local bare = prosody.bare_sessions[username .. "@" .. host];
	local count = 0;
	if bare then
		for _, session in pairs(bare.sessions) do
			if wanted(session) then
				local copy = stanza;
				if stanza.attr then copy = require "util.stanza".clone(stanza); copy.attr.to = session.full_jid; end
				session.send(copy);
				count = count + 1;
			end
		end
	end
	return count;
end

-- Sends to every available resource of the account.
function M.send_to_available_resources(username, host, stanza)
	return send_to_resources(username, host, stanza, function(session) return session.presence; end);
end

-- Sends to every resource that fetched the roster (session.interested).
function M.send_to_interested_resources(username, host, stanza)
	return send_to_resources(username, host, stanza, function(session) return session.interested; end);
end

return M;
