-- util.multitable for LuaXmpp: nested tables addressed by key paths.
--   mt:add(k1, k2, ..., value)  appends value to the list at the path
--   mt:set(k1, k2, ..., value)  sets the leaf (nil removes it and prunes empty tables)
--   mt:get(k1, k2, ...)         the table or value at the path
--   mt:remove(k1, ..., [value]) removes a subtree, or one value from the leaf list
--   mt:search(k1, ...)          values at every matching path (nil keys are wildcards)
--   mt:iter(k1, ...)            iterates key..., value over matching paths
local function get(self, ...)
	local node = self.data;
	for i = 1, select("#", ...) do
		if type(node) ~= "table" then return nil; end
		node = node[select(i, ...)];
		if node == nil then return nil; end
	end
	return node;
end

local function descend(self, n, ...)
	local node = self.data;
	for i = 1, n do
		local key = select(i, ...);
		local child = node[key];
		if child == nil then
			child = {};
			node[key] = child;
		end
		node = child;
	end
	return node;
end

local function add(self, ...)
	local n = select("#", ...);
	local list = descend(self, n - 1, ...);
	list[#list + 1] = select(n, ...);
end

local function set(self, ...)
	local n = select("#", ...);
	local parent = descend(self, n - 2, ...);
	parent[select(n - 1, ...)] = select(n, ...);
end


local function remove(self, ...)
	local keys = table.pack(...);
	local function walk(node, i)
		if i > keys.n then return; end
		local key = keys[i];
		if i == keys.n then
			node[key] = nil;
			return;
		end
		local child = node[key];
		if type(child) ~= "table" then return; end
		if i == keys.n - 1 and type(keys[keys.n]) ~= "table" and child[1] ~= nil then
			-- Removing one value from a leaf list.
			for j = #child, 1, -1 do
				if child[j] == keys[keys.n] then table.remove(child, j); end
			end
		else
			walk(child, i + 1);
		end
		if next(child) == nil then node[key] = nil; end
	end
	if keys.n == 0 then
		self.data = {};
	else
		walk(self.data, 1);
	end
end

local function search(self, ...)
	local keys = table.pack(...);
	local results = {};
	local function walk(node, i)
		if i > keys.n then
			results[#results + 1] = node;
			return;
		end
		if type(node) ~= "table" then return; end
		local key = keys[i];
		if key == nil then
			for _, child in pairs(node) do walk(child, i + 1); end
		elseif node[key] ~= nil then
			walk(node[key], i + 1);
		end
	end
	walk(self.data, 1);
	return results;
end

local function search_add(self, results, ...)
	for _, v in ipairs(search(self, ...)) do results[#results + 1] = v; end
	return results;
end

local function iter(self, ...)
	local keys = table.pack(...);
	local found = {};
	local function walk(node, i, path)
		if i > keys.n then
			local entry = table.pack(table.unpack(path, 1, i - 1));
			entry[i] = node;
			entry.n = i;
			found[#found + 1] = entry;
			return;
		end
		if type(node) ~= "table" then return; end
		local key = keys[i];
		for k, child in pairs(node) do
			if key == nil or key == k then
				path[i] = k;
				walk(child, i + 1, path);
			end
		end
	end
	walk(self.data, 1, {});
	local index = 0;
	return function()
		index = index + 1;
		local entry = found[index];
		if entry then return table.unpack(entry, 1, entry.n); end
	end;
end

local function new()
	return {
		data = {};
		get = get;
		add = add;
		set = set;
		remove = remove;
		search = search;
		search_add = search_add;
		iter = iter;
	};
end

return { new = new, iter = iter };
