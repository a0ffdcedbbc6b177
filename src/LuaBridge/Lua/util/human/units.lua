-- util.human.units for LuaXmpp: numbers with SI (or, with b = "b", binary) prefixes.
--   format(1500, "B") == "1.5 kB"; format(2048, "B", "b") == "2 KiB"
local large = { "k", "M", "G", "T", "P", "E", "Z", "Y" };
local small = { "m", "\206\188", "n", "p", "f", "a", "z", "y" };
local binary = { "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi" };

-- Returns the multiplier and prefix that bring n closest to [1, base).
local function adjust(n, b)
	local prefixes, base, round = large, 1000, math.floor;
	if b == "b" then
		prefixes, base = binary, 1024;
	elseif math.abs(n) < 1 then
		prefixes, round = small, math.ceil;
	end
	local exponent = math.max(0, math.min(8, round(math.abs(math.log(math.abs(n), base)))));
	if exponent == 0 then return 1, nil; end
	local multiplier = base ^ exponent;
	if prefixes == small then multiplier = 1 / multiplier; end
	return multiplier, prefixes[exponent];
end

local function format(n, unit, b)
	if n == 0 then return ("%.3g %s"):format(n, unit); end
	local multiplier, prefix = adjust(n, b);
	return ("%.3g %s%s"):format(n / multiplier, prefix or "", unit);
end

return { adjust = adjust, format = format };
