-- luaxmpp.check: argument checks for the luaxmpp.<area> shims. A wrong argument raises a Lua
-- error naming the shim function and the argument ("bad argument #2 to 'archive.open' (string
-- expected, got nil)") at the caller's line, instead of reaching C# and failing there as a cast.
local type, error, select, tostring = type, error, select, tostring;

local M = {};

-- Level 4: fail, M.arg, the shim function, then the line that called the shim.
local function fail(fname, n, expected, value)
	error(("bad argument #%d to '%s' (%s expected, got %s)"):format(n, fname, expected, type(value)), 4);
end

-- arg(fname, n, value, kind[, optional]): kind is a Lua type name, several joined by "|"
-- ("number|string"), "integer", "session" (a session table) or "callback" (a function).
function M.arg(fname, n, value, kind, optional)
	if value == nil and optional then return value; end
	local t = type(value);
	if kind == "session" then
		if t ~= "table" then fail(fname, n, "session table", value); end
	elseif kind == "callback" then
		if t ~= "function" then fail(fname, n, "function", value); end
	elseif kind == "integer" then
		if math.type(value) ~= "integer" and not (t == "number" and value == math.floor(value)) then
			fail(fname, n, "integer", value);
		end
	elseif t ~= kind and not (kind:find("|", 1, true) and ("|" .. kind .. "|"):find("|" .. t .. "|", 1, true)) then
		fail(fname, n, kind, value);
	end
	return value;
end

-- area(name, primitive, ...) → those primitives of luaxmpp.native.<name>, in order; a missing one
-- is a load-time error, so a shim that loads has every primitive it calls (NativeAreaTests).
function M.area(area, ...)
	local natives = require("luaxmpp.native." .. area);
	local out = table.pack(...);
	for i = 1, out.n do
		local f = natives[out[i]];
		if type(f) ~= "function" then error("luaxmpp." .. area .. ": no native primitive " .. tostring(out[i]), 2); end
		out[i] = f;
	end
	return table.unpack(out, 1, out.n);
end

-- raise(fname, first, ...): a primitive's (nil, message) failure as a Lua error; other results
-- pass. Shims call it as a tail call (return raise(...)), so level 2 is the shim's caller.
function M.raise(fname, first, ...)
	if first == nil and select("#", ...) == 1 and type((...)) == "string" then
		error(fname .. ": " .. (...), 2);
	end
	return first, ...;
end

return M;
