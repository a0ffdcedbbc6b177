-- util.datamanager for the bridge: Prosody's file-store API (load/store, lists, users) over the
-- server's storage (core.storagemanager, keyval stores), so modules that still call the old API
-- read and write the same data as open_store. Served as util.datamanager when no other
-- implementation is installed (see prelude.lua).
local storagemanager = require "core.storagemanager";

local type, pairs, ipairs, tostring = type, pairs, ipairs, tostring;

local M = {};

local callbacks = {};

local function store_of(host, datastore)
	return storagemanager.open(host, datastore, "keyval");
end

function M.load(username, host, datastore)
	local store = store_of(host, datastore);
	return store:get(username);
end

function M.store(username, host, datastore, data)
	if type(data) == "table" and next(data) == nil then data = nil; end
	for _, callback in ipairs(callbacks) do
		username, host, datastore, data = callback(username, host, datastore, data);
		if username == false then return true; end -- a callback vetoed the write
	end
	return store_of(host, datastore):set(username, data);
end

-- Lists are kept as one array value under the same name.
function M.list_load(username, host, datastore)
	local data = M.load(username, host, datastore);
	if type(data) ~= "table" then return nil; end
	return data;
end

function M.list_store(username, host, datastore, data)
	if type(data) == "table" and #data == 0 then data = nil; end
	return store_of(host, datastore):set(username, data);
end

function M.list_append(username, host, datastore, data)
	local list = M.list_load(username, host, datastore) or {};
	list[#list + 1] = data;
	return M.list_store(username, host, datastore, list);
end

function M.users(host, datastore)
	local store = store_of(host, datastore);
	if store.users then return store:users(); end
	return function() return nil; end;
end

function M.stores(username, host)
	return function() return nil; end;
end

function M.purge(username, host)
	return storagemanager.purge(username, host);
end

-- Paths have no meaning over this storage; callers that only log them get something readable.
-- Prosody's file layout under data_path: every byte outside [A-Za-z0-9] becomes %xx.
local function encode(s) return (tostring(s):gsub("%W", function(c) return ("%%%02x"):format(c:byte()); end)); end

function M.getpath(username, host, datastore, ext, create)
	ext = ext or "dat";
	local base = (prosody.paths and prosody.paths.data) or ".";
	local host_dir = base .. "/" .. encode(host);
	if username == nil then
		if create then require "lfs".mkdir(base); require "lfs".mkdir(host_dir); end
		return host_dir .. "/" .. encode(datastore) .. "." .. ext;
	end
	local store_dir = host_dir .. "/" .. encode(datastore);
	if create then
		local lfs = require "lfs";
		lfs.mkdir(base); lfs.mkdir(host_dir); lfs.mkdir(store_dir);
	end
	return store_dir .. "/" .. encode(username) .. "." .. ext;
end

function M.set_data_path() end

function M.add_callback(f) callbacks[#callbacks + 1] = f; return f; end

function M.remove_callback(f)
	for i = #callbacks, 1, -1 do
		if callbacks[i] == f then table.remove(callbacks, i); end
	end
end

local function hex(c) return ("%%%02x"):format(c:byte()); end
function M.path_encode(s) return (tostring(s):gsub("%W", hex)); end
function M.path_decode(s) return (tostring(s):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)); end)); end

return M;
