-- core.rostermanager for the bridge. Rosters have one owner, the C# RosterManager (one
-- instance per account, shared by its resources, saved in Prosody's "roster" store layout).
-- Lua sees each roster through a proxy table in Prosody's shape: roster[jid] → item
-- {subscription, ask, name, approved, groups = {name → true}}, roster[false] → {version,
-- pending = {jid → stanza | true}}, pairs(roster) yields false first, then every contact.
-- Reads go to the C# roster each time (items are fresh tables), so nothing can go stale;
-- roster[jid] = item / nil changes the C# roster, and save_roster writes it.
-- The subscription transitions (RFC 6121 §3) run in C#; inside a util.async runner these
-- functions wait for storage, as Prosody's synchronous storage would.
local N_rosters = require "luaxmpp.native.rosters";

local M = {};

local roster_mt = {};

roster_mt.__index = function(t, key)
	local rid = rawget(t, "_id");
	if key == false then return N_rosters.roster_meta(rid); end
	if type(key) ~= "string" then return nil; end
	return N_rosters.roster_item(rid, key);
end;
roster_mt.__newindex = function(t, key, value)
	if type(key) ~= "string" then return; end -- roster[false] is kept by the C# roster
	N_rosters.roster_set_item(rawget(t, "_id"), key, value);
end;
roster_mt.__pairs = function(t)
	local rid = rawget(t, "_id");
	local jids = N_rosters.roster_jids(rid) or {};
	local i = 0;
	return function()
		if i == 0 then i = 1; return false, N_rosters.roster_meta(rid); end
		while true do
			local jid = jids[i];
			i = i + 1;
			if jid == nil then return nil; end
			local item = N_rosters.roster_item(rid, jid);
			if item then return jid, item; end -- removed meanwhile
		end
	end, t, nil;
end;
roster_mt.__tostring = function(t) return "roster " .. tostring(rawget(t, "_id")); end;

-- The proxy for C# roster id rid (called by the runtime when it hands a roster to Lua).
M._proxy = require "core.bridge".proxy_factory(roster_mt, function(rid) N_rosters.roster_release(rid); end);

-- Calls start(callback) and returns what the callback got, waiting in a runner if needed.
local function await(start)
	local async = require "util.async";
	local result, wait, done;
	if async.ready() then wait, done = async.waiter(); end
	start(function(...)
		result = table.pack(...);
		if done then done(); end
	end);
	if not result then
		if not wait then return nil, "storage did not answer at once (not inside a runner)"; end
		wait();
	end
	return table.unpack(result, 1, result.n);
end

local function op(name, username, host, jid, extra)
	return await(function(cb) N_rosters.roster_op(host, name, username, jid or "", cb, extra); end);
end

function M.load_roster(username, host)
	return await(function(cb) N_rosters.roster_load(host, username, cb); end);
end

-- The C# roster is the one saved; jid names the changed contact (nil: the whole roster).
function M.save_roster(username, host, roster, jid) -- luacheck: ignore 212/roster
	return op("save", username, host, jid);
end

function M.get_readonly_rosters() return function() end; end

function M.roster_push(username, host, jid) N_rosters.roster_push(host, username, jid); end

function M.add_to_roster(session, jid, item)
	local ok, err = op("add", session.username, session.host, jid, item);
	if not ok then return nil, "wait", "internal-server-error", err; end
	return true;
end

function M.remove_from_roster(session, jid)
	local ok, err = op("remove", session.username, session.host, jid);
	if not ok then return nil, "wait", "internal-server-error", err; end
	return true;
end

local simple = {
	"is_contact_subscribed", "is_user_subscribed", "is_contact_pending_in", "is_contact_pending_out",
	"is_contact_preapproved", "set_contact_pending_out", "unsubscribe", "subscribed", "unsubscribed",
	"process_inbound_subscription_approval", "process_inbound_subscription_cancellation",
	"process_inbound_unsubscribe",
};
for _, name in ipairs(simple) do
	M[name] = function(username, host, jid) return op(name, username, host, jid); end;
end

function M.set_contact_pending_in(username, host, jid, stanza)
	return op("set_contact_pending_in", username, host, jid, stanza);
end

function M.get_subscription(username, host, jid)
	local roster = M.load_roster(username, host);
	local item = roster and roster[jid];
	return item and item.subscription;
end

return M;
