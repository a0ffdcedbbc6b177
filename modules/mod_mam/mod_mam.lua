-- mod_mam for LuaXmpp: XEP-0313 Message Archive Management (urn:xmpp:mam:2 and #extended),
-- with XEP-0059 result set paging, XEP-0359 stanza ids and XEP-0441 preferences.
--
-- This module decides what is archived and speaks the protocol. The archive itself lives in
-- C# (src/Core/Archive): appends go to a writer that commits them in batches and hands back
-- the item's id at once, so in the default mode a message is never delayed by the disk; with
-- archive_durability = "strict" the message goes on only once its batch is committed (see
-- "Strict durability" below). Queries run off the loop and call back here with the page, so
-- the server keeps routing while a big archive is read.
--
-- Options (Prosody's names and defaults): max_archive_query_results (50),
-- default_archive_policy (true | false | "roster"), archive_expires_after ("1w"),
-- archive_cleanup_interval (14400 s), dont_archive_namespaces (chat states),
-- mam_include_total (true), archive_store ("archive"); ours: archive_durability
-- ("batched" | "strict", see README.md and ArchiveDurability.cs), archive_max_batch (512
-- appends per transaction), archive_commit_interval (0 s: least time between two commits).

local archive_lib = require "luaxmpp.archive";
local async = require "util.async";
local st = require "util.stanza";
local rsm = require "util.rsm";
local jid = require "util.jid";
local dataforms = require "util.dataforms";
local datetime = require "util.datetime";
local usermanager = require "core.usermanager";
local rostermanager = require "core.rostermanager";

local prefs = module:require "mamprefs";

local xmlns_mam = "urn:xmpp:mam:2";
local xmlns_mam_ext = "urn:xmpp:mam:2#extended";
local xmlns_sid = "urn:xmpp:sid:0";
local xmlns_hints = "urn:xmpp:hints";
local xmlns_fulltext_field = "{urn:xmpp:fulltext:0}fulltext";

local host = module.host;
local floor, ceil, min = math.floor, math.ceil, math.min;

-- XEP-0313 §5.1.1: the server picks the page size when the client does not, and may cap it.
local default_page = 20;
local max_page = module:get_option_number("max_archive_query_results", 50);
local skip_namespaces = module:get_option_set("dont_archive_namespaces", { "http://jabber.org/protocol/chatstates" });
local store_name = module:get_option_string("archive_store", "archive");
local durability = module:get_option_string("archive_durability", "batched");
local cleanup_interval = module:get_option_number("archive_cleanup_interval", 14400);
local max_batch = module:get_option_number("archive_max_batch", 512);
local commit_interval = module:get_option_number("archive_commit_interval", 0);
-- Batched mode: appends kept while a failed write is retried (ids already delivered); past it
-- messages go on without a stanza-id and the sender is warned (see "When the archive fails").
local hold_limit = module:get_option_number("archive_hold_limit", 5000);

-- archive_expires_after: seconds, or digits with d/w/m/y (m = 31 days, as Prosody reads it;
-- any other suffix counts as seconds), or "never".
local function parse_period(value)
	if type(value) == "number" then return value; end
	value = tostring(value):lower();
	if value == "never" then return "never"; end
	local n, unit = value:match("^%s*(%d+)%s*([dwmy]?)");
	if not n then return nil; end
	local day = 86400;
	local scale = ({ d = day, w = 7 * day, m = 31 * day, y = 365.2425 * day })[unit] or 1;
	return tonumber(n) * scale;
end

local expires_after = parse_period(module:get_option("archive_expires_after", "1w"));
if expires_after == nil then
	module:log("error", "archive_expires_after: cannot read %q (seconds, or a number with d, w, m or y, or \"never\")",
		module:get_option("archive_expires_after"));
	return false;
end
-- XEP-0059 §2.6: every <fin/>'s <set/> carries <count/>, the number of items matching the
-- query's filters (with, start, end; not the page bounds); clients show progress with it.
-- Prosody 0.12's mod_mam leaves it out by default when expiry is "never" (counting a growing
-- archive gets slower); we send it whatever the expiry, because the archive keeps totals per
-- (user, filters) up to date as appends commit (ArchiveCountCache), so a paging client costs
-- one COUNT per filter, not one per page.
local include_total = module:get_option_boolean("mam_include_total", true);

local archive = archive_lib.open(host, store_name, {
	durability = durability;
	expires_after = expires_after ~= "never" and expires_after or nil;
	cleanup_interval = cleanup_interval;
	max_batch = max_batch;
	commit_interval = commit_interval;
	hold_limit = hold_limit;
});
module:log("debug", "Archive %s: expiry %s, sweep every %ds, durability %s, batches of up to %d every %gs", store_name,
	tostring(expires_after), cleanup_interval, durability, max_batch, commit_interval);

---------------------------------------------------------------------------------------------
-- Preferences (XEP-0313 §6 / XEP-0441)
---------------------------------------------------------------------------------------------

module:hook("iq/self/" .. xmlns_mam .. ":prefs", function(event)
	local origin, stanza = event.origin, event.stanza;
	local user = origin.username;
	if stanza.attr.type == "set" then
		local ok, err = prefs.set(user, prefs.from_stanza(stanza.tags[1]));
		if not ok then
			origin.send(st.error_reply(stanza, "wait", "internal-server-error", "Could not save preferences: " .. tostring(err)));
			return true;
		end
	end
	origin.send(st.reply(stanza):add_child(prefs.to_stanza(prefs.get(user))));
	return true;
end);

---------------------------------------------------------------------------------------------
-- Queries (XEP-0313 §4)
---------------------------------------------------------------------------------------------

local query_form = dataforms.new {
	{ name = "FORM_TYPE"; type = "hidden"; value = xmlns_mam };
	{ name = "with"; type = "jid-single" };
	{ name = "start"; type = "text-single"; datatype = "xs:dateTime" };
	{ name = "end"; type = "text-single"; datatype = "xs:dateTime" };
	-- #extended (XEP-0313 §4.1.3 and §4.1.4)
	{ name = "before-id"; type = "text-single" };
	{ name = "after-id"; type = "text-single" };
	{ name = "ids"; type = "list-multi" };
	-- XEP-0431 full-text search in message bodies; advertised by being in this form (§3).
	{ name = xmlns_fulltext_field; type = "text-single"; label = "Search for" };
};

-- Form discovery (§4.1.1).
module:hook("iq-get/self/" .. xmlns_mam .. ":query", function(event)
	event.origin.send(st.reply(event.stanza):query(xmlns_mam):add_child(query_form:form()));
	return true;
end);

-- Only the account itself may read its archive; an iq to another user's bare JID is refused.
local function not_yours(event)
	local stanza = event.stanza;
	local to = stanza.attr.to;
	if to == nil or jid.bare(to) == jid.join(event.origin.username, event.origin.host) then
		return nil; -- the account's own archive: iq/self handles it
	end
	event.origin.send(st.error_reply(stanza, "cancel", "forbidden", "You may only query your own archive"));
	return true;
end
module:hook("iq-set/bare/" .. xmlns_mam .. ":query", not_yours);
module:hook("iq-get/bare/" .. xmlns_mam .. ":query", not_yours);
module:hook("iq/bare/" .. xmlns_mam .. ":prefs", not_yours);

local function bad_request(origin, stanza, text)
	origin.send(st.error_reply(stanza, "modify", "bad-request", text));
	return true;
end

-- Reads the query's form: returns the filters, or nil and the error text.
local function read_form(query)
	local form = query:get_child("x", "jabber:x:data");
	if not form then return {}; end
	local form_type, err = dataforms.get_type(form);
	if not form_type then return nil, "Invalid data form: " .. tostring(err); end
	if form_type ~= xmlns_mam then return nil, "Unexpected FORM_TYPE, expected '" .. xmlns_mam .. "'"; end
	local data, errors = query_form:data(form);
	if errors then
		local field, why = next(errors);
		return nil, tostring(field) .. ": " .. tostring(why);
	end
	local with = data["with"];
	if with then
		with = jid.prep(with);
		if not with then return nil, "with: invalid JID"; end
		with = jid.bare(with);
	end
	local ids = data["ids"];
	if ids and #ids == 0 then ids = nil; end
	-- Words (all must match), word* prefixes and "quoted phrases"; any other character only
	-- separates words. An empty field searches nothing; text without a word is a bad request.
	local fulltext = data[xmlns_fulltext_field];
	if fulltext and not fulltext:find("%S") then fulltext = nil; end
	if fulltext then
		local ok, why = archive_lib.check_fulltext(fulltext);
		if not ok then return nil, why; end
	end
	return {
		with = with;
		-- Stamps may carry fractions; the archive keeps whole seconds and both ends are inclusive.
		start = data["start"] and ceil(data["start"]);
		["end"] = data["end"] and floor(data["end"]);
		before = data["before-id"];
		after = data["after-id"];
		ids = ids;
		fulltext = fulltext;
	};
end

-- Runs one query; calls done() once its answer was sent (or it failed).
local function run_query(event, done)
	local origin, stanza = event.origin, event.stanza;
	local query = stanza.tags[1];
	local qid = query.attr.queryid;
	local user = origin.username;
	-- A client that reads the archive gets its offline messages from there (see below).
	origin.mam_requested = true;

	local filters, err = read_form(query);
	if not filters then bad_request(origin, stanza, err); return done(); end

	-- XEP-0059: <max/> caps the page (never above max_archive_query_results); <before/> pages
	-- backwards from an id, or from the end when empty; <after/> pages forwards. RSM ids take
	-- precedence over the form's before-id/after-id.
	local set = rsm.get(query);
	-- <max/> is an integer (XEP-0059 §2.1); a fraction such as 1.5 once made the page loop index a hole.
	local page = min(floor(set and tonumber(set.max) or default_page), max_page);
	if page < 0 then page = default_page; end
	local before, after = filters.before, filters.after;
	local backwards = false;
	if set and set.before ~= nil then
		backwards = true;
		before = type(set.before) == "string" and set.before or nil;
	end
	if set and type(set.after) == "string" then after = set.after; end
	if before == "" then before = nil; end
	if after == "" then after = nil; end
	-- Pages are delivered oldest first even when read backwards; <flip-page/> (§4.1.2 of the
	-- extended protocol) asks for the opposite.
	local newest_first = query:get_child("flip-page") ~= nil;

	local want_total = include_total or page == 0;
	archive:find(user, {
		with = filters.with;
		start = filters.start;
		["end"] = filters["end"];
		before = before;
		after = after;
		ids = filters.ids;
		fulltext = filters.fulltext;
		-- One more than the page tells whether another page exists.
		limit = page == 0 and 0 or page + 1;
		reverse = backwards;
		total = want_total;
		-- The result messages are built in C# (items carry .message instead of .value): a page
		-- built here cost a fifth of the query's CPU in the Lua collector.
		results = { to = stanza.attr.from, from = stanza.attr.to, queryid = qid };
	}, function(items, total)
		if origin.destroyed then return done(); end -- nobody to send the page to
		if not items then
			module:log("debug", "Archive query %s by %s failed: %s", qid or stanza.attr.id, user, tostring(total));
			if total == "item-not-found" then
				origin.send(st.error_reply(stanza, "modify", "item-not-found"));
			else
				origin.send(st.error_reply(stanza, "wait", "internal-server-error"));
			end
			return done();
		end
		local complete = #items <= page;
		local n = complete and #items or page;
		-- items are in query order: oldest first, or newest first when read backwards.
		local chronological = {};
		for i = 1, n do
			chronological[backwards and (n - i + 1) or i] = items[i];
		end
		local first_item, last_item = chronological[1], chronological[n];
		local from, to, step = 1, n, 1;
		if newest_first then from, to, step = n, 1, -1; end
		for i = from, to, step do
			local item = chronological[i];
			origin.send(item.message);
		end
		origin.send(st.reply(stanza)
			:tag("fin", { xmlns = xmlns_mam, complete = complete and "true" or nil })
				:add_child(rsm.generate {
					first = first_item and first_item.key;
					last = last_item and last_item.key;
					count = want_total and total or nil;
				}));
		module:log("debug", "Archive query %s by %s: %d item(s)%s", qid or stanza.attr.id, user, n, complete and ", complete" or "");
		done();
	end);
end

-- One query at a time per session, the rest wait in arrival order (at most max_waiting_queries;
-- more get resource-constraint). A client that sends queries and never reads their results so
-- holds at most one page in the archive reader plus what its connection's output bounds allow,
-- instead of every page at once (issue 16, item 7: 14 KB of queries pinned 1.3 GB).
local max_waiting_queries = module:get_option_number("mam_max_waiting_queries", 64);

local function next_query(origin)
	local waiting = origin.mam_waiting;
	local event = waiting and table.remove(waiting, 1);
	if not event or origin.destroyed then
		origin.mam_running, origin.mam_waiting = nil, nil;
		return;
	end
	run_query(event, function() next_query(origin); end);
end

module:hook("iq-set/self/" .. xmlns_mam .. ":query", function(event)
	local origin = event.origin;
	if origin.mam_running then
		local waiting = origin.mam_waiting or {};
		origin.mam_waiting = waiting;
		if #waiting >= max_waiting_queries then
			origin.send(st.error_reply(event.stanza, "wait", "resource-constraint", "Too many archive queries at once"));
		else
			waiting[#waiting + 1] = event;
		end
		return true;
	end
	origin.mam_running = true;
	run_query(event, function() next_query(origin); end);
	return true;
end);

-- Archive metadata (XEP-0313 §7): the first and last item.
module:hook("iq-get/self/" .. xmlns_mam .. ":metadata", function(event)
	local origin, stanza = event.origin, event.stanza;
	local reply = st.reply(stanza):tag("metadata", { xmlns = xmlns_mam });
	local function failed()
		origin.send(st.error_reply(stanza, "wait", "internal-server-error"));
	end
	archive:find(origin.username, { limit = 1 }, function(first)
		if not first then return failed(); end
		archive:find(origin.username, { limit = 1, reverse = true }, function(last)
			if not last then return failed(); end
			if first[1] then reply:tag("start", { id = first[1].key, timestamp = datetime.datetime(first[1].when) }):up(); end
			if last[1] then reply:tag("end", { id = last[1].key, timestamp = datetime.datetime(last[1].when) }):up(); end
			origin.send(reply);
		end);
	end);
	return true;
end);

---------------------------------------------------------------------------------------------
-- What is archived
---------------------------------------------------------------------------------------------

-- The default policy ("archive-should-store" at -1: headlines, group chat and messages without
-- a payload worth keeping are not archived; Prosody's rules) lives in C#
-- (src/Core/Archive/ArchivePolicy.cs) with the message hooks, see the end of this file.

local function in_roster(user, peer)
	local roster = rostermanager.load_roster(user, host);
	return roster ~= nil and roster[peer] ~= nil;
end

local function account_exists(user)
	return prosody.bare_sessions[user .. "@" .. host] ~= nil or usermanager.user_exists(user, host);
end

-- The user's preferences: a rule for this peer, else the default (always, never, roster).
local function wanted_by(user, peer)
	if not account_exists(user) then return false; end
	local user_prefs = prefs.get(user);
	local rule = user_prefs[peer];
	if rule == nil then rule = user_prefs[false]; end
	if rule == "roster" then return in_roster(user, peer); end
	return rule == true;
end

-- Removes <stanza-id/> elements that claim to come from this account: only we may add them
-- (XEP-0359 §3.3). Returns the stanza, copied if anything was removed.
local function without_our_ids(stanza, user)
	if not stanza:get_child("stanza-id", xmlns_sid) then return stanza; end
	local copy = st.clone(stanza);
	copy:maptags(function(tag)
		if tag.name == "stanza-id" and tag.attr.xmlns == xmlns_sid then
			local by_user, by_host, by_resource = jid.prepped_split(tag.attr.by);
			if by_host == host and by_user == user and not by_resource then return nil; end
		end
		return tag;
	end);
	return copy;
end

local function on_commit_failed(ok, err)
	if not ok then module:log("error", "Archived message was not committed: %s", tostring(err)); end
end
local strict = durability == "strict";

---------------------------------------------------------------------------------------------
-- Strict durability
--
-- The handler that archived a message waits (util.async waiter, inside the runner the bridge
-- walks the chain in) until the writer reports the batch committed; only then does the rest
-- of the chain run, and with it the delivery. A client's stanzas all run in its session's
-- runner, which takes the next stanza only when this one is done, so a sender's messages stay
-- in order. Commit callbacks of one batch may reach the loop in any order, and stanzas without
-- a session runner (sent by the server, or fired while the session's runner was busy) each
-- have a runner of their own, so this module also resumes the waiters of one origin strictly
-- in arrival order: an entry goes on only when every earlier one of its origin has.
---------------------------------------------------------------------------------------------

local waiting_by_origin = setmetatable({}, { __mode = "k" }); -- origin -> line of entries
local no_origin = {};

local function release_in_order(key)
	local line = waiting_by_origin[key];
	if not line or line.resuming then return; end
	while line[1] and line[1].settled do
		local entry = table.remove(line, 1);
		-- What this message's chain waits on next (its archiving for the recipient) goes ahead
		-- of later messages: it is the same message still on its way.
		line.resuming, line.insert_at = true, 1;
		local ok, err = pcall(entry.done);
		line.resuming, line.insert_at = false, nil;
		if not ok then module:log("error", "Could not resume an archived message: %s", tostring(err)); end
	end
	if #line == 0 and waiting_by_origin[key] == line then waiting_by_origin[key] = nil; end
end

-- Appends and waits until the item's batch is committed. Returns the id (nil if the append
-- was refused), whether the commit succeeded and its error.
local function append_and_wait(origin, user, stored, peer)
	local key = origin or no_origin;
	local wait, done = async.waiter();
	local entry = { done = done, settled = false };
	local id = archive:append(user, stored, os.time(), peer, function(ok, err)
		entry.settled, entry.ok, entry.err = true, ok, err;
		release_in_order(key);
	end);
	if not id then return nil; end
	local line = waiting_by_origin[key];
	if not line then line = {}; waiting_by_origin[key] = line; end
	if line.resuming then
		table.insert(line, line.insert_at, entry);
		line.insert_at = line.insert_at + 1;
	else
		line[#line + 1] = entry;
	end
	wait();
	return id, entry.ok, entry.err;
end

-- An error about the message goes to its sender: straight to a local client's session, else routed.
local function tell_sender(event, reply)
	local origin = event.origin;
	if origin and origin.type == "c2s" and origin.send and not origin.destroyed then
		origin.send(reply);
	else
		module:send(reply);
	end
end

-- The message is not delivered: the sender gets it back, as for any storage failure.
local function bounce(event, stanza)
	if stanza.attr.type == "error" then return; end
	tell_sender(event, st.error_reply(stanza, "wait", "internal-server-error", "The message could not be archived"));
end

---------------------------------------------------------------------------------------------
-- When the archive fails
--
-- A stanza-id is only added for an item that is, or will be, in the archive (XEP-0359 §3:
-- it is the archive's id). Strict mode bounces the message when its commit fails. Batched mode
-- holds failed writes and retries them; once that backlog is full the writer refuses, and the
-- message is delivered without a stanza-id (as Prosody 0.12 does when archive:append fails)
-- while the sender gets an error of type "continue" (RFC 6120 §8.3.2: a warning, the stanza
-- went on), once per message, so a client knows this message will not be found by MAM.
---------------------------------------------------------------------------------------------

local warned_for = setmetatable({}, { __mode = "k" }); -- stanza -> true once its sender was warned

local function warn_not_archived(event, stanza)
	if stanza.attr.type == "error" or warned_for[stanza] then return; end
	warned_for[stanza] = true;
	tell_sender(event, st.error_reply(stanza, "continue", "resource-constraint",
		"Delivered, but not archived: the message archive cannot store messages now"));
end

local warned_not_async = false;

-- Archives a message for `user` (the sender when outgoing, the recipient when incoming).
-- Returns true when the message must go no further (strict mode, commit failed).
local function archive_message(event, user, peer)
	local origin, stanza = event.origin, event.stanza;
	stanza = without_our_ids(stanza, user);
	event.stanza = stanza;

	-- The native hook already asked about this very stanza when it sets mam_should_store.
	if not event.mam_should_store then
		local decision = { stanza = stanza, session = origin };
		if not module:fire_event("archive-should-store", decision) then
			module:log("debug", "Not archiving %s for %s: %s", stanza:top_tag(), user, tostring(decision.reason));
			return;
		end
	end

	local stored = stanza;
	if not skip_namespaces:empty() then
		stored = st.clone(stanza);
		stored:maptags(function(tag)
			if skip_namespaces:contains(tag.attr.xmlns) then return nil; end
			return tag;
		end);
		if #stored.tags == 0 then
			module:log("debug", "Not archiving %s for %s: nothing left to store", stanza:top_tag(), user);
			return;
		end
	end

	if not wanted_by(user, peer) then
		module:log("debug", "Not archiving %s for %s: preferences", stanza:top_tag(), user);
		return;
	end

	local id;
	if strict and async.ready() then
		local ok, err;
		id, ok, err = append_and_wait(origin, user, stored, peer);
		if id and not ok then
			module:log("error", "Not delivering %s for %s: its archive commit failed: %s", stanza:top_tag(), user, tostring(err));
			bounce(event, stanza);
			return true;
		end
	else
		if strict and not warned_not_async then
			warned_not_async = true;
			module:log("warn", "A message was archived outside an async runner; it goes on before its commit");
		end
		local err;
		id, err = archive:append(user, stored, os.time(), peer, strict and on_commit_failed or nil);
		if not id then
			module:log("debug", "Not archiving %s for %s (%s): delivered without a stanza-id", stanza:top_tag(), user, tostring(err));
			warn_not_archived(event, stanza);
			return;
		end
	end
	if not id then
		module:log("error", "Could not archive %s for %s", stanza:top_tag(), user);
		return;
	end
	local delivered = st.clone(stanza);
	delivered:tag("stanza-id", { xmlns = xmlns_sid, by = user .. "@" .. host, id = id }):up();
	event.stanza = delivered;
	module:fire_event("archive-message-added", { origin = origin, stanza = stored, for_user = user, id = id });
end

-- Sent by a local client: the sender's archive, with the recipient as peer.
local function on_outgoing(event)
	local origin, stanza = event.origin, event.stanza;
	if not origin or origin.type ~= "c2s" or not origin.username then return; end
	local to = stanza.attr.to or jid.join(origin.username, origin.host);
	return archive_message(event, origin.username, jid.bare(to));
end

-- Delivered to a local account: the recipient's archive, with the sender as peer.
local function on_incoming(event)
	local stanza = event.stanza;
	local to = stanza.attr.to;
	local user;
	if to then
		user = jid.node(to);
	elseif event.origin and event.origin.username then
		user = event.origin.username; -- to one's own bare JID (the router removed "to")
	end
	if not user then return; end
	local from = stanza.attr.from or jid.join(user, host);
	return archive_message(event, user, jid.bare(from));
end

-- The sender's own stanza-id must not leave the server with the message (privacy); carbons
-- (at -0.5) have copied it by now.
local function strip_sender_id(event)
	local origin = event.origin;
	if origin and origin.username then event.stanza = without_our_ids(event.stanza, origin.username); end
end

-- The hooks on pre-message/bare|full (0: archive, -1: strip) and message/bare|full (0) and the
-- default "archive-should-store" policy are C# (src/Core/Archive/ArchiveMessageHooks.cs): a
-- message that is not archived never enters Lua, and in batched durability the C# hook also
-- archives for an account online here whose preferences are the default rule (true or false),
-- adds the stanza-id and fires "archive-message-added". They fire these events, in the same
-- chain position, for the messages this module must handle: strict durability, stored or
-- roster preferences, a stanza-id to strip, an archive that refuses appends.
local skip_list = {};
for ns in skip_namespaces:items() do skip_list[#skip_list + 1] = ns; end
archive:hook_messages(module._owner, { skip_namespaces = skip_list, default_policy = prefs.default });
module:hook("mam-archive-outgoing", on_outgoing);
module:hook("mam-archive-incoming", on_incoming);
module:hook("mam-strip-sender-id", strip_sender_id);

-- Without mod_offline, a message for an offline user that was archived is not an error: the
-- user will find it in the archive.
module:hook("message/offline/handle", function(event)
	local user = event.username .. "@" .. host;
	if event.stanza:get_child_with_attr("stanza-id", xmlns_sid, "by", user) then return true; end
end, -2);

-- A client that queried the archive has its messages from there; flooding it with the same
-- messages as offline deliveries would duplicate them.
module:hook("message/offline/broadcast", function(event)
	if event.origin.mam_requested then return true; end
end);

module:hook("account-disco-info", function(event)
	-- The reply comes positioned inside its <query/>, as Prosody's mod_disco hands it over.
	event.reply:tag("feature", { var = xmlns_mam }):up();
	event.reply:tag("feature", { var = xmlns_mam_ext }):up();
	event.reply:tag("feature", { var = xmlns_sid }):up();
end);
