-- Archiving preferences (XEP-0441, carried in XEP-0313 <prefs/>) for LuaXmpp's mod_mam.
--
-- Stored per user in the keyval store "<archive_store>_prefs" in Prosody's layout, so a
-- database moved between Prosody and LuaXmpp keeps them:
--   [false] = true | false | "roster"   the default rule (always / never / roster contacts)
--   ["juliet@example.com"] = true       always archive with this peer
--   ["tybalt@example.com"] = false      never archive with this peer
-- A user without stored preferences gets default_archive_policy.

local st = require "util.stanza";
local archive_lib = require "luaxmpp.archive";
local jid_prep = require "util.jid".prep;
local cache = require "util.cache";

local xmlns_mam = "urn:xmpp:mam:2";

-- default_archive_policy: true / false, or the string "roster".
local configured_default = module:get_option_string("default_archive_policy", true);
if configured_default ~= "roster" then
	configured_default = module:get_option_boolean("default_archive_policy", configured_default);
end

local archive_store = module:get_option_string("archive_store", "archive");
local prefs_store = module:open_store(archive_store .. "_prefs");

local none = {};
-- Preferences are read for every archived message; keep recently used ones in memory. The C#
-- hooks' set of users without preferences follows this cache: a user evicted here is dropped
-- there too, read again on their next archived message (storage may have changed meanwhile).
local cached = cache.new(module:get_option_number("archive_prefs_cache_size", 1000), function(user, prefs)
	if prefs == none then archive_lib.set_default_prefs(module.host, user, false); end
end);

local function get(user)
	local prefs = cached:get(user);
	if prefs == nil then
		prefs = prefs_store:get(user) or none;
		cached:set(user, prefs);
		-- mod_mam's C# hooks archive by the default rule for users known to have no preferences.
		archive_lib.set_default_prefs(module.host, user, prefs == none);
	end
	if prefs == none then return { [false] = configured_default }; end
	return prefs;
end

local function set(user, prefs)
	local ok, err = prefs_store:set(user, prefs);
	cached:set(user, nil);
	archive_lib.set_default_prefs(module.host, user, false);
	return ok, err;
end

-- Rule names on the wire and the stored values they stand for.
local to_rule = { [true] = "always", [false] = "never", roster = "roster" };
local from_rule = { always = true, never = false, roster = "roster" };

local function to_stanza(prefs)
	local default = prefs[false];
	local el = st.stanza("prefs", { xmlns = xmlns_mam, default = to_rule[default] });
	local always, never = st.stanza("always"), st.stanza("never");
	for peer, rule in pairs(prefs) do
		if peer then
			(rule and always or never):text_tag("jid", peer);
		end
	end
	el:add_child(always):add_child(never);
	return el;
end

-- A set replaces everything. No default attribute: nothing but the "always" list is kept.
local function from_stanza(el)
	local prefs = { [false] = from_rule[el.attr.default] };
	if prefs[false] == nil then prefs[false] = false; end
	for list, rule in pairs({ always = true, never = false }) do
		local tag = el:get_child(list);
		if tag then
			for item in tag:childtags("jid") do
				local peer = jid_prep(item:get_text());
				if peer then prefs[peer] = rule; end
			end
		end
	end
	return prefs;
end

return { get = get, set = set, to_stanza = to_stanza, from_stanza = from_stanza, default = configured_default };
