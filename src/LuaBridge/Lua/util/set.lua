-- util.set for LuaXmpp: unordered sets. A set is callable as an iterator
-- (for item in set do ... end) and supports + (union), - (difference), / (map), == and tostring.

local set_mt = { __name = "set" };
function set_mt.__call(set, _, previous)
	return next(set._items, previous);
end

local items_mt = {};
function items_mt.__call(items, _, previous)
	return next(items, previous);
end

function set_mt:__freeze()
	local list = {};
	for item in pairs(self._items) do list[#list + 1] = item; end
	return list;
end

local function is_set(value)
	return getmetatable(value) == set_mt;
end

local function new(list)
	local items = setmetatable({}, items_mt);
	local set = { _items = items };

	function set.add(_, item) items[item] = true; end
	function set.contains(_, item) return items[item]; end
	function set.remove(_, item) items[item] = nil; end
	function set.items() return next, items; end
	function set.empty() return next(items) == nil; end

	function set.contains_set(_, other)
		for item in other do
			if not items[item] then return false; end
		end
		return true;
	end

	function set.add_list(_, values)
		if values then
			for _, item in ipairs(values) do items[item] = true; end
		end
	end

	function set.include(_, other)
		for item in other do items[item] = true; end
	end

	function set.exclude(_, other)
		for item in other do items[item] = nil; end
	end

	set:add_list(list);
	return setmetatable(set, set_mt);
end

local function union(a, b)
	local result = new();
	for item in pairs(a._items) do result:add(item); end
	for item in pairs(b._items) do result:add(item); end
	return result;
end

local function difference(a, b)
	local result = new();
	for item in pairs(a._items) do
		if not b._items[item] then result:add(item); end
	end
	return result;
end

local function intersection(a, b)
	local result = new();
	for item in pairs(a._items) do
		if b._items[item] then result:add(item); end
	end
	return result;
end

local function xor(a, b)
	return union(a, b) - intersection(a, b);
end

set_mt.__add = union;
set_mt.__sub = difference;

function set_mt.__div(set, f)
	local result = new();
	for item in pairs(set._items) do
		local mapped = f(item);
		if mapped ~= nil then result:add(mapped); end
	end
	return result;
end

function set_mt.__eq(a, b)
	for item in pairs(a._items) do
		if not b._items[item] then return false; end
	end
	for item in pairs(b._items) do
		if not a._items[item] then return false; end
	end
	return true;
end

function set_mt.__tostring(set)
	local parts = {};
	for item in pairs(set._items) do parts[#parts + 1] = tostring(item); end
	return table.concat(parts, ", ");
end

return {
	new = new;
	is_set = is_set;
	union = union;
	difference = difference;
	intersection = intersection;
	xor = xor;
};
