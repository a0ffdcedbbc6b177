-- core.rostermanager for the bridge: rosters in the keyval store "roster" (Prosody's layout:
-- bare JID → {subscription, ask, name, groups}, key false → {version, pending}).
local storagemanager = require "core.storagemanager";

local M = {};

local function store(host) return storagemanager.open(host, "roster", "keyval"); end

function M.load_roster(username, host)
	local bare = prosody.bare_sessions[username .. "@" .. host];
	if bare and bare.roster then return bare.roster; end
	local roster, err = store(host):get(username);
	if roster == nil and err then return nil, err; end
	roster = roster or {};
	if not roster[false] then roster[false] = { version = nil, pending = {} }; end
	if not roster[false].pending then roster[false].pending = {}; end
	if bare then bare.roster = roster; end
	return roster;
end

function M.save_roster(username, host, roster)
	roster = roster or M.load_roster(username, host);
	if not roster then return nil, "no roster"; end
	local meta = roster[false];
	if meta then meta.version = (tonumber(meta.version) or 0) + 1; end
	return store(host):set(username, roster);
end

function M.get_readonly_rosters() return function() end; end

local function item_stanza(jid, item)
	local st = require "util.stanza";
	local iq = st.iq({ type = "set", id = "roster-push" .. tostring(os.time()) })
		:tag("query", { xmlns = "jabber:iq:roster" });
	local attr = { jid = jid, subscription = item and item.subscription or "remove", ask = item and item.ask, name = item and item.name };
	iq:tag("item", attr);
	if item and item.groups then
		for group in pairs(item.groups) do iq:tag("group"):text(group):up(); end
	end
	return iq;
end

function M.roster_push(username, host, jid)
	local roster = M.load_roster(username, host);
	local bare = prosody.bare_sessions[username .. "@" .. host];
	if not (roster and bare) then return; end
	local push = item_stanza(jid, roster[jid]);
	for _, session in pairs(bare.sessions) do
		if session.interested then
			local copy = require "util.stanza".clone(push);
			copy.attr.to = session.full_jid;
			session.send(copy);
		end
	end
end

function M.add_to_roster(session, jid, item)
	local roster = session.roster or M.load_roster(session.username, session.host);
	roster[jid] = item;
	return M.save_roster(session.username, session.host, roster);
end

function M.remove_from_roster(session, jid)
	local roster = session.roster or M.load_roster(session.username, session.host);
	roster[jid] = nil;
	return M.save_roster(session.username, session.host, roster);
end

function M.is_contact_subscribed(username, host, jid)
	local roster = M.load_roster(username, host);
	local item = roster and roster[jid];
	return item ~= nil and (item.subscription == "from" or item.subscription == "both");
end

function M.is_contact_pending_in(username, host, jid)
	local roster = M.load_roster(username, host);
	return roster ~= nil and roster[false].pending[jid] ~= nil;
end

function M.is_user_subscribed(username, host, jid)
	local roster = M.load_roster(username, host);
	local item = roster and roster[jid];
	return item ~= nil and (item.subscription == "to" or item.subscription == "both");
end

return M;
