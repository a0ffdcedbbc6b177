-- LuaBitOp's API ("bit") over Lua 5.4 integers, for modules written against it. Results are
-- signed 32-bit numbers, as LuaBitOp returns them.

local function tobit(x)
	x = math.tointeger(x) or math.floor(x);
	x = x & 0xFFFFFFFF;
	if x >= 0x80000000 then x = x - 0x100000000; end
	return x;
end

local function fold(op)
	return function(x, ...)
		local acc = tobit(x);
		for i = 1, select("#", ...) do acc = tobit(op(acc, tobit((select(i, ...))))); end
		return acc;
	end
end

local function tohex(x, n)
	n = n or 8;
	local upper = n < 0;
	if upper then n = -n; end
	local s = ("%08x"):format(tobit(x) & 0xFFFFFFFF):sub(-n);
	if #s < n then s = ("0"):rep(n - #s) .. s; end
	return upper and s:upper() or s;
end

return {
	tobit = tobit,
	tohex = tohex,
	bnot = function(x) return tobit(~tobit(x)); end,
	band = fold(function(a, b) return a & b; end),
	bor = fold(function(a, b) return a | b; end),
	bxor = fold(function(a, b) return a ~ b; end),
	lshift = function(x, n) return tobit((tobit(x) & 0xFFFFFFFF) << (n & 31)); end,
	rshift = function(x, n) return tobit((tobit(x) & 0xFFFFFFFF) >> (n & 31)); end,
	-- a negative value is sign-extended to 64 bits, so the logical shift brings ones into bit 31
	arshift = function(x, n) return tobit(tobit(x) >> (n & 31)); end,
	rol = function(x, n) n = n & 31; local u = tobit(x) & 0xFFFFFFFF; return tobit((u << n) | (u >> (32 - n))); end,
	ror = function(x, n) n = n & 31; local u = tobit(x) & 0xFFFFFFFF; return tobit((u >> n) | (u << (32 - n))); end,
	bswap = function(x)
		local u = tobit(x) & 0xFFFFFFFF;
		return tobit(((u & 0xFF) << 24) | ((u & 0xFF00) << 8) | ((u >> 8) & 0xFF00) | (u >> 24));
	end,
};
