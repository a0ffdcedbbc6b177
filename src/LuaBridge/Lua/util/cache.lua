-- util.cache for LuaXmpp: a bounded least-recently-used map. Setting a key makes it the most
-- recent; when full, the least recent entry is evicted, unless on_evict is false or returns
-- false, in which case the insertion is refused.

local cache_methods = {};
local cache_mt = { __name = "cache", __index = cache_methods };

-- Entries form a doubly linked list from _head (newest) to _tail (oldest).
local function unlink(self, entry)
	if entry.prev then entry.prev.next = entry.next; else self._head = entry.next; end
	if entry.next then entry.next.prev = entry.prev; else self._tail = entry.prev; end
	entry.prev, entry.next = nil, nil;
	self._count = self._count - 1;
end

local function push_front(self, entry)
	entry.prev, entry.next = nil, self._head;
	if self._head then self._head.prev = entry; end
	self._head = entry;
	if not self._tail then self._tail = entry; end
	self._count = self._count + 1;
end

-- Evicts the oldest entry; false when the eviction callback vetoes it.
local function evict_oldest(self)
	local oldest = self._tail;
	local on_evict = self._on_evict;
	if on_evict == false or (on_evict ~= nil and on_evict(oldest.key, oldest.value) == false) then
		return false;
	end
	unlink(self, oldest);
	self._data[oldest.key] = nil;
	return true;
end

function cache_methods:set(key, value)
	local entry = self._data[key];
	if entry then
		unlink(self, entry);
		if value == nil then
			self._data[key] = nil;
		else
			entry.value = value;
			push_front(self, entry);
		end
		return true;
	end
	if value == nil then return true; end
	if self._count >= self.size and not evict_oldest(self) then
		return false;
	end
	entry = { key = key, value = value };
	self._data[key] = entry;
	push_front(self, entry);
	return true;
end

-- Reading does not refresh an entry's recency (as Prosody).
function cache_methods:get(key)
	local entry = self._data[key];
	if entry then return entry.value; end
	return nil;
end

function cache_methods:items()
	local entry = self._head;
	return function()
		if not entry then return nil; end
		local k, v = entry.key, entry.value;
		entry = entry.next;
		return k, v;
	end;
end

function cache_methods:values()
	local iter = self:items();
	return function()
		local _, v = iter();
		return v;
	end;
end

function cache_methods:count() return self._count; end

function cache_methods:head()
	local e = self._head;
	if not e then return nil, nil; end
	return e.key, e.value;
end

function cache_methods:tail()
	local e = self._tail;
	if not e then return nil, nil; end
	return e.key, e.value;
end

local function check_size(size)
	size = assert(tonumber(size), "cache size must be a number");
	size = math.floor(size);
	assert(size > 0, "cache size must be greater than zero");
	return size;
end

function cache_methods:resize(new_size)
	new_size = check_size(new_size);
	while self._count > new_size do
		if not evict_oldest(self) then return false; end
	end
	self.size = new_size;
	return true;
end

function cache_methods:clear()
	self._data, self._count, self._head, self._tail = {}, 0, nil, nil;
end

-- A table view: t[k] reads, t[k] = v writes (raising when the cache refuses), pairs and #.
function cache_methods:table()
	if not self.proxy_table then
		local cache = self;
		self.proxy_table = setmetatable({}, {
			__index = function(_, k) return cache:get(k); end;
			__newindex = function(_, k, v)
				if not cache:set(k, v) then error("failed to insert key into cache - full", 2); end
			end;
			__pairs = function() return cache:items(); end;
			__len = function() return cache:count(); end;
		});
	end
	return self.proxy_table;
end

local function new(size, on_evict)
	return setmetatable({ _data = {}, _count = 0, size = check_size(size), _on_evict = on_evict }, cache_mt);
end

return { new = new };
