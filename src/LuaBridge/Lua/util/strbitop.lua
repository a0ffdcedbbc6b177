-- util.strbitop: bytewise and/or/xor of two strings. The result has the length of the first
-- string; the second is repeated when shorter (SCRAM's XOR in RFC 5802 §3 uses equal lengths).

local byte, char, concat = string.byte, string.char, table.concat;

local function combine(op)
	return function(a, b)
		local la, lb = #a, #b;
		if la == 0 then return ""; end
		if lb == 0 then return a; end
		local out = {};
		for i = 1, la do
			local j = (i - 1) % lb + 1;
			out[i] = char(op(byte(a, i), byte(b, j)));
		end
		return concat(out);
	end
end

return {
	sand = combine(function(x, y) return x & y; end),
	sor = combine(function(x, y) return x | y; end),
	sxor = combine(function(x, y) return x ~ y; end),
};
