-- luaxmpp.archive: the server's native message archive (XEP-0313) for mod_mam, over the
-- "archive" native area (LuaRuntime.Archive.cs). An archive is opened per host and store and
-- then used as an object, with the method names of Prosody's archive stores (append, find,
-- delete). Differences from a storagemanager archive store: append takes no key (the archive
-- makes the id) and find/delete answer through a callback on the loop, never by waiting.
--
--   local archive = require "luaxmpp.archive";
--   local store = archive.open(host, "archive", { durability = "batched", expires_after = 86400 });
--   local id = store:append(user, stanza, os.time(), with_jid, on_commit);
--   store:find(user, { start = t, limit = 10 }, function(items, total) ... end);
--   store:hook_messages(module._owner, { skip_namespaces = { ... }, default_policy = "roster" });
--   archive.set_default_prefs(host, user, true);
local check = require "luaxmpp.check";
local arg, raise = check.arg, check.raise;

local mam_open, mam_append, mam_query, mam_delete,
	mam_hook, mam_default_prefs, mam_fulltext_check, mam_flush = check.area("archive",
	"mam_open", "mam_append", "mam_query", "mam_delete",
	"mam_hook", "mam_default_prefs", "mam_fulltext_check", "mam_flush");

local M = {};

local store_mt = {};
store_mt.__index = store_mt;

-- open(host, store, options?) → store. options: durability ("strict"|"batched"|...),
-- expires_after (seconds or nil), cleanup_interval, max_batch, commit_interval, hold_limit.
function M.open(host, store, options)
	arg("archive.open", 1, host, "string");
	arg("archive.open", 2, store, "string");
	arg("archive.open", 3, options, "table", true);
	raise("archive.open", mam_open(host, store, options or {}));
	return setmetatable({ host = host, store = store }, store_mt);
end

-- store:append(user, stanza, when, with, on_commit?) → id, or nil and why: "held-backlog-full"
-- when the archive already holds as many failed writes as it may. on_commit(ok, err) runs on the
-- loop once the item's batch is committed (or failed). A refusal is an answer, not an error:
-- mod_mam then delivers the message without a stanza-id.
function store_mt:append(user, stanza, when, with, on_commit)
	arg("archive:append", 1, user, "string");
	arg("archive:append", 2, stanza, "table");
	arg("archive:append", 3, when, "number");
	arg("archive:append", 4, with, "string", true);
	arg("archive:append", 5, on_commit, "callback", true);
	return mam_append(self.host, self.store, user, stanza, when, with, on_commit);
end

-- store:find(user, query, callback): query as Prosody's archive find (start, end, with, before,
-- after, limit, reverse, ids, ...); later callback(items, total), or callback(nil, err).
function store_mt:find(user, query, callback)
	arg("archive:find", 1, user, "string");
	arg("archive:find", 2, query, "table");
	arg("archive:find", 3, callback, "callback");
	return raise("archive:find", mam_query(self.host, self.store, user, query, callback));
end

-- store:delete(user, query, callback?): later callback(count), or callback(nil, err).
function store_mt:delete(user, query, callback)
	arg("archive:delete", 1, user, "string");
	arg("archive:delete", 2, query, "table", true);
	arg("archive:delete", 3, callback, "callback", true);
	return raise("archive:delete", mam_delete(self.host, self.store, user, query or {}, callback));
end

-- store:hook_messages(owner, options): the message hooks and default policy run natively (they
-- archive the common case and fire mam-archive-outgoing/-incoming for the rest); options:
-- skip_namespaces = { ns, ... }, default_policy = true | false | "roster". Unhooked on unload.
function store_mt:hook_messages(owner, options)
	arg("archive:hook_messages", 1, owner, "integer", true);
	arg("archive:hook_messages", 2, options, "table", true);
	return raise("archive:hook_messages", mam_hook(self.host, self.store, owner, options or {}));
end

-- set_default_prefs(host, user, none): tells the native hooks whether the user has no stored
-- preferences (so the default policy applies).
function M.set_default_prefs(host, user, none)
	arg("archive.set_default_prefs", 1, host, "string");
	arg("archive.set_default_prefs", 2, user, "string");
	mam_default_prefs(host, user, none and true or false);
end

-- check_fulltext(text) → true, or nil and the error text a bad-request carries (XEP-0431).
function M.check_fulltext(text)
	arg("archive.check_fulltext", 1, text, "string");
	return mam_fulltext_check(text);
end

-- flush(callback): commits every pending batch; later callback(ok).
function M.flush(callback)
	arg("archive.flush", 1, callback, "callback");
	return raise("archive.flush", mam_flush(callback));
end

return M;
