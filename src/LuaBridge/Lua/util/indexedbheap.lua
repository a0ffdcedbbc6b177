-- util.indexedbheap for LuaXmpp: a binary min-heap of (priority, item) with stable ids, so
-- entries can be removed or reprioritized. pop/remove return priority, item, id; peek returns
-- the smallest priority.
local heap_methods = {};
local heap_mt = { __index = heap_methods };

-- priorities[k] and ids[k] move together; position[id] = k.
local function swap(self, a, b)
	local p, ids, position = self.priorities, self.ids, self.index;
	p[a], p[b] = p[b], p[a];
	ids[a], ids[b] = ids[b], ids[a];
	position[ids[a]], position[ids[b]] = a, b;
end

local function sift_up(self, k)
	local p = self.priorities;
	while k > 1 do
		local parent = k // 2;
		if p[parent] <= p[k] then break; end
		swap(self, k, parent);
		k = parent;
	end
	return k;
end

local function sift_down(self, k)
	local p = self.priorities;
	local n = #p;
	while true do
		local smallest, left, right = k, 2 * k, 2 * k + 1;
		if left <= n and p[left] < p[smallest] then smallest = left; end
		if right <= n and p[right] < p[smallest] then smallest = right; end
		if smallest == k then return k; end
		swap(self, k, smallest);
		k = smallest;
	end
end

function heap_methods:insert(item, priority, id)
	if id == nil then
		id = self.current_id;
		self.current_id = id + 1;
	end
	self.items[id] = item;
	local k = #self.priorities + 1;
	self.priorities[k], self.ids[k], self.index[id] = priority, id, k;
	sift_up(self, k);
	return id;
end

function heap_methods:peek()
	return self.priorities[1];
end

function heap_methods:remove_index(k)
	local p, ids = self.priorities, self.ids;
	local priority = p[k];
	if priority == nil then return nil; end
	local id = ids[k];
	local item = self.items[id];
	local last = #p;
	if k ~= last then swap(self, k, last); end
	p[last], ids[last] = nil, nil;
	self.index[id], self.items[id] = nil, nil;
	if k < last then
		sift_down(self, sift_up(self, k));
	end
	return priority, item, id;
end

function heap_methods:pop()
	if #self.priorities == 0 then return nil; end
	return self:remove_index(1);
end

function heap_methods:remove(id)
	local k = self.index[id];
	if k == nil then return nil; end
	return self:remove_index(k);
end

function heap_methods:reprioritize(id, priority)
	local k = self.index[id];
	if k == nil then return; end
	self.priorities[k] = priority;
	sift_down(self, sift_up(self, k));
end

local function create()
	-- Generated ids are non-integral so they never collide with caller-chosen integer ids.
	return setmetatable({ ids = {}, items = {}, priorities = {}, index = {}, current_id = 1.5 }, heap_mt);
end

return { create = create };
