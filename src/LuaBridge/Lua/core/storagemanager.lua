-- core.storagemanager for the bridge: stores over the C# IStorageManager (contract §5).
-- Calls look synchronous, as Prosody's: inside a util.async runner (stanza handlers, timers,
-- module loading) the runner suspends until the C# task completes (bridge.await); outside one
-- the loop waits for it (logged once). Archive find materialises the page and returns an
-- iterator over it.
local N_storage = require "luaxmpp.native.storage";
local await = require "core.bridge".await;

local setmetatable, type, tostring = setmetatable, type, tostring;

local M = {};

local keyval_methods = {};
local keyval_mt = { __index = keyval_methods };
function keyval_methods:get(user) return await(N_storage.kv_get(self.host, self.store, user)); end
function keyval_methods:set(user, data) return await(N_storage.kv_set(self.host, self.store, user, data)); end
function keyval_methods:users()
	local list, err = await(N_storage.kv_users(self.host, self.store));
	if not list then return nil, err; end
	local i = 0;
	return function() i = i + 1; return list[i]; end;
end
function keyval_methods:purge(user) return await(N_storage.kv_set(self.host, self.store, user, nil)); end

local map_methods = {};
local map_mt = { __index = map_methods };
-- map.remove marks a key for deletion in set_keys.
M.remove = setmetatable({}, { __tostring = function() return "<map remove>"; end });
map_methods.remove = M.remove;
function map_methods:get(user, key) return await(N_storage.map_get(self.host, self.store, user, key)); end
function map_methods:set(user, key, value) return await(N_storage.map_set(self.host, self.store, user, key, value)); end
function map_methods:set_keys(user, keys)
	local plain = {};
	local removed = {};
	for k, v in pairs(keys) do
		if v == M.remove then removed[#removed + 1] = k; else plain[k] = v; end
	end
	return await(N_storage.map_set_keys(self.host, self.store, user, plain, removed));
end

local archive_methods = {};
local archive_mt = { __index = archive_methods };
archive_methods.caps = { total = true, quota = nil, full_id_range = true, ids = true, truncate = true };
function archive_methods:append(user, key, value, when, with)
	return await(N_storage.archive_append(self.host, self.store, user, key, value, when, with));
end
-- Prosody's `key` query field names one item; the native query knows it as a one-id list.
local function native_query(query)
	if not query or query.key == nil then return query or {}; end
	local copy = {};
	for k, v in pairs(query) do copy[k] = v; end
	copy.key, copy.ids = nil, { query.key };
	return copy;
end
function archive_methods:find(user, query)
	local items, total = await(N_storage.archive_find(self.host, self.store, user, native_query(query)));
	if not items then return nil, total; end
	local i = 0;
	return function()
		i = i + 1;
		local item = items[i];
		if item then return item.key, item.value, item.when, item.with; end
	end, total;
end
function archive_methods:get(user, key)
	local items = await(N_storage.archive_find(self.host, self.store, user, { ids = { key } }));
	local item = items and items[1];
	if not item then return nil, "item-not-found"; end
	return item.value, item.when, item.with;
end
-- truncate = N keeps the N newest matching items (the N oldest with reverse), as Prosody's
-- storage drivers do (mod_storage_internal, mod_storage_sql): the N-th one kept is found with a
-- find, and what lies beyond it is deleted by an id bound.
local function truncate(self, user, query)
	local keep = math.max(0, math.floor(tonumber(query.truncate) or 0));
	local rest = {};
	for k, v in pairs(query) do rest[k] = v; end
	rest.truncate = nil;
	if keep == 0 then
		rest.reverse = nil;
		return await(N_storage.archive_delete(self.host, self.store, user, rest));
	end
	local find = {};
	for k, v in pairs(rest) do find[k] = v; end
	find.reverse, find.limit = not query.reverse, keep;
	local items, err = await(N_storage.archive_find(self.host, self.store, user, find));
	if not items then return nil, err; end
	if #items < keep then return 0; end
	rest.reverse = nil;
	if query.reverse then rest.after = items[keep].key; else rest.before = items[keep].key; end
	return await(N_storage.archive_delete(self.host, self.store, user, rest));
end
function archive_methods:delete(user, query)
	query = native_query(query);
	if query.truncate ~= nil then return truncate(self, user, query); end
	return await(N_storage.archive_delete(self.host, self.store, user, query));
end
function archive_methods:set(user, key, value, when, with)
	return await(N_storage.archive_append(self.host, self.store, user, key, value, when, with));
end

local kinds = { keyval = keyval_mt, map = map_mt, archive = archive_mt };

function M.open(host, store, typ)
	typ = typ or "keyval";
	local mt = kinds[typ];
	if not mt then return nil, "unsupported-store"; end
	local obj = setmetatable({ host = host, store = store, type = typ, name = "luaxmpp", _provided_by = "luaxmpp" }, mt);
	local h = prosody.hosts[host];
	if h then
		local event = { host = host, store_name = store, store_type = typ, store = obj };
		h.events.fire_event("store-opened", event);
		if event.store_err then return nil, event.store_err; end
		obj = event.store or obj;
	end
	return obj;
end

-- A driver opens stores of any name on its host (mod_pep opens one archive per node).
function M.get_driver(host)
	return { name = "luaxmpp", open = function(_, store, typ) return M.open(host, store, typ); end };
end
function M.purge(user, host) return await(N_storage.storage_purge(host, user)); end

-- Prosody's storagemanager.olddm: the old datamanager API (mod_muc_log and friends).
M.olddm = setmetatable({}, { __index = function(_, k) return require "core.compat.datamanager"[k]; end });

return M;
