-- util.array for LuaXmpp: sequences with methods. Functions in util.array taking an array
-- return a new array; the same-named methods mutate their array in place.

local array_methods = {};
local array_mt = {
	__name = "array";
	__index = array_methods;
	__tostring = function(self) return "{" .. self:concat(", ") .. "}"; end;
};
function array_mt:__freeze() return self; end

local array = {};

local function collect(f, s, var)
	local result = setmetatable({}, array_mt);
	while true do
		var = f(s, var);
		if var == nil then break; end
		result[#result + 1] = var;
	end
	return result;
end
array.collect = collect;

local function new_array(_, t, s, var)
	if type(t) == "function" then return collect(t, s, var); end
	return setmetatable(t or {}, array_mt);
end
setmetatable(array, { __call = new_array });

function array_mt.__add(a, b)
	return new_array():append(a):append(b);
end

function array_mt.__eq(a, b)
	if getmetatable(a) ~= array_mt or getmetatable(b) ~= array_mt or #a ~= #b then return false; end
	for i = 1, #a do
		if a[i] ~= b[i] then return false; end
	end
	return true;
end

-- a / f: the non-nil results of f over a.
function array_mt.__div(a, f)
	local result = new_array();
	for i = 1, #a do
		local v = f(a[i]);
		if v ~= nil then result[#result + 1] = v; end
	end
	return result;
end

-- Each transform writes into `out` from `input` (which may be the same table).
local transforms = {};

function transforms.map(out, input, f)
	for i, v in ipairs(input) do out[i] = f(v); end
	return out;
end

function transforms.filter(out, input, keep)
	local n = #input;
	local w = 0;
	for r = 1, n do
		local v = input[r];
		if keep(v) then
			w = w + 1;
			out[w] = v;
		end
	end
	if out == input then
		for i = w + 1, n do out[i] = nil; end
	end
	return out;
end

function transforms.slice(out, input, i, j)
	local n = #input;
	if j == nil then j = -1; end
	if i < 0 then i = n + 1 + i; end
	if j < 0 then j = n + 1 + j; end
	if i < 1 then i = 1; end
	if j > n then j = n; end
	local values = {};
	for k = i, j do values[#values + 1] = input[k]; end
	for k = 1, n do if out == input then out[k] = nil; end end
	for k = 1, #values do out[k] = values[k]; end
	if out ~= input then
		for k = #values + 1, #out do out[k] = nil; end
	end
	return out;
end

function transforms.sort(out, input, ...)
	if out ~= input then
		for i, v in ipairs(input) do out[i] = v; end
	end
	table.sort(out, ...);
	return out;
end

function transforms.unique(out, input)
	local seen, values = {}, {};
	for _, v in ipairs(input) do
		if not seen[v] then
			seen[v] = true;
			values[#values + 1] = v;
		end
	end
	local n = #input;
	for k = 1, #values do out[k] = values[k]; end
	if out == input then
		for k = #values + 1, n do out[k] = nil; end
	end
	return out;
end

function transforms.pluck(out, input, key, default)
	for i, v in ipairs(input) do
		local value = v[key];
		if value == nil then value = default; end
		out[i] = value;
	end
	return out;
end

function transforms.reverse(out, input)
	local n = #input;
	local values = {};
	for i = 1, n do values[i] = input[n + 1 - i]; end
	for i = 1, n do out[i] = values[i]; end
	return out;
end

for name, transform in pairs(transforms) do
	array[name] = function(input, ...) return transform(new_array(), input, ...); end;
	array_methods[name] = function(self, ...) return transform(self, self, ...); end;
end

function array_methods:random()
	return self[math.random(1, #self)];
end

-- A random element other than the one at index i.
function array_methods:random_other(i)
	local n = #self;
	return self[(math.random(1, n - 1) + i - 1) % n + 1];
end

function array_methods:shuffle()
	for i = 1, #self do
		local j = math.random(i, #self);
		self[i], self[j] = self[j], self[i];
	end
	return self;
end

function array_methods:append(other)
	local n = #self;
	for i = 1, #other do self[n + i] = other[i]; end
	return self;
end

function array_methods:push(value)
	self[#self + 1] = value;
	return self;
end

array_methods.pop = table.remove;

function array_methods:concat(separator)
	return table.concat(array.map(self, tostring), separator);
end

function array_methods:length() return #self; end

return array;
