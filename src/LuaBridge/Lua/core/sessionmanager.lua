-- core.sessionmanager for the bridge: the session registry lives in the C# SessionManager;
-- these helpers forward to it.
local N = require "luaxmpp.native";
local bridge = require "core.bridge";

local M = {};

local function sid(session) return bridge.sid_of[session]; end

function M.destroy_session(session, err)
	local id = sid(session);
	if id then return N.session_destroy(id, err and tostring(err) or nil); end
	session.destroyed = true;
end

function M.make_authenticated(session, username)
	session.username = username;
	if session.type == "c2s_unauthed" then session.type = "c2s_unbound"; end
	return true;
end

function M.bind_resource()
	return nil, "cancel", "feature-not-implemented", "resource binding is done by the C# core";
end

-- Sends to every available resource of the account; returns how many got it.
function M.send_to_available_resources(username, host, stanza)
	local bare = prosody.bare_sessions[username .. "@" .. host];
	local count = 0;
	if bare then
		for _, session in pairs(bare.sessions) do
			if session.presence then
				local copy = stanza;
				if stanza.attr then copy = require "util.stanza".clone(stanza); copy.attr.to = session.full_jid; end
				session.send(copy);
				count = count + 1;
			end
		end
	end
	return count;
end

-- Sends to every resource that fetched the roster (session.interested).
function M.send_to_interested_resources(username, host, stanza)
	local bare = prosody.bare_sessions[username .. "@" .. host];
	local count = 0;
	if bare then
		for _, session in pairs(bare.sessions) do
			if session.interested then
				local copy = require "util.stanza".clone(stanza);
				copy.attr.to = session.full_jid;
				session.send(copy);
				count = count + 1;
			end
		end
	end
	return count;
end

function M.retire_session(session)
	session.destroyed = true;
	session.send = function() return false; end;
	return session;
end

return M;
