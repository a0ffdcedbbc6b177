-- util.iterators for LuaXmpp: combinators over Lua's generic-for triples (f, s, var).
local pack, unpack = table.pack, table.unpack;

local it = {};

-- Runs the whole iteration, returning each step's values packed.
local function drain(f, s, var)
	local steps = {};
	while true do
		local step = pack(f(s, var));
		var = step[1];
		if var == nil then break; end
		steps[#steps + 1] = step;
	end
	return steps;
end

local function replay(steps, first, last, direction)
	local i = first - direction;
	return function()
		i = i + direction;
		if (direction > 0 and i > last) or (direction < 0 and i < last) then return nil; end
		local step = steps[i];
		return unpack(step, 1, step.n);
	end;
end

function it.reverse(f, s, var)
	local steps = drain(f, s, var);
	return replay(steps, #steps, 1, -1);
end

function it.keys(t)
	local key;
	return function()
		key = next(t, key);
		return key;
	end;
end

function it.values(t)
	local key, value;
	return function()
		key, value = next(t, key);
		return value;
	end;
end

-- The n-th value of each step.
function it.select(n, f, s, var)
	return function(state)
		local step = pack(f(state, var));
		var = step[1];
		if var == nil then return nil; end
		return step[n];
	end, s;
end

-- Steps whose first value has not been seen before.
function it.unique(f, s, var)
	local seen = {};
	return function(state)
		while true do
			local step = pack(f(state, var));
			var = step[1];
			if var == nil then return nil; end
			if not seen[var] then
				seen[var] = true;
				return unpack(step, 1, step.n);
			end
		end
	end, s;
end

function it.count(f, s, var)
	local n = 0;
	while true do
		var = f(s, var);
		if var == nil then break; end
		n = n + 1;
	end
	return n;
end

function it.head(n, f, s, var)
	local taken = 0;
	return function(state, control)
		if taken >= n then return nil; end
		taken = taken + 1;
		return f(state, control);
	end, s, var;
end

function it.skip(n, f, s, var)
	for _ = 1, n do var = f(s, var); end
	return f, s, var;
end

function it.tail(n, f, s, var)
	local steps = drain(f, s, var);
	local first = #steps - n + 1;
	if first < 1 then first = 1; end
	return replay(steps, first, #steps, 1);
end

-- Keeps steps for which filter(values...) is true; a non-function filter drops steps whose
-- first value equals it.
function it.filter(filter, f, s, var)
	if type(filter) ~= "function" then
		local excluded = filter;
		filter = function(v) return v ~= excluded; end;
	end
	return function(state, control)
		while true do
			local step = pack(f(state, control));
			control = step[1];
			if control == nil or filter(unpack(step, 1, step.n)) then
				return unpack(step, 1, step.n);
			end
		end
	end, s, var;
end

function it.ripairs(t)
	return function(list, i)
		if i > 1 then return i - 1, list[i - 1]; end
	end, t, #t + 1;
end

function it.range(x, y)
	if not y then x, y = 1, x; end
	return function(max, current)
		if current < max then return current + 1; end
	end, y, x - 1;
end

function it.to_array(f, s, var)
	local result = {};
	while true do
		var = f(s, var);
		if var == nil then break; end
		result[#result + 1] = var;
	end
	return result;
end

function it.to_table(f, s, var)
	local result = {};
	while true do
		local value;
		var, value = f(s, var);
		if var == nil then break; end
		result[var] = value;
	end
	return result;
end

-- Keys of different types sort by type name first, so mixed tables do not raise.
local function default_order(a, b)
	local ta, tb = type(a), type(b);
	if ta ~= tb then return ta < tb; end
	if ta == "number" or ta == "string" then return a < b; end
	return tostring(a) < tostring(b);
end

function it.sorted_pairs(t, order)
	local keys = it.to_array(it.keys(t));
	table.sort(keys, order or default_order);
	local i = 0;
	return function()
		i = i + 1;
		local key = keys[i];
		if key ~= nil then return key, t[key]; end
	end;
end

-- it.join(f, s, var):append(f2, s2, var2) iterates one sequence after the other.
local join_methods = {};
local join_mt = { __index = join_methods };

function join_mt.__call(self)
	while self._current <= #self do
		local source = self[self._current];
		local step = pack(source[1](source[2], source[3]));
		if step[1] ~= nil then
			source[3] = step[1];
			return unpack(step, 1, step.n);
		end
		self._current = self._current + 1;
	end
	return nil;
end

function join_methods:append(f, s, var)
	self[#self + 1] = { f, s, var };
	return self;
end

function join_methods:prepend(f, s, var)
	table.insert(self, 1, { f, s, var });
	return self;
end

function it.join(f, s, var)
	return setmetatable({ { f, s, var }, _current = 1 }, join_mt);
end

return it;
