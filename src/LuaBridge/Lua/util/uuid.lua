-- util.uuid for LuaXmpp: random (version 4) UUIDs, RFC 4122 §4.4.
local random = require "util.random";
local hex_encode = require "util.hex".encode;

local function get_nibbles(n)
	return hex_encode(random.bytes((n + 1) // 2)):sub(1, n);
end

local function generate()
	local variant = ("%x"):format(8 + random.bytes(1):byte() % 4); -- 10xx: the RFC 4122 variant
	return get_nibbles(8) .. "-" .. get_nibbles(4) .. "-4" .. get_nibbles(3) .. "-"
		.. variant .. get_nibbles(3) .. "-" .. get_nibbles(12);
end

return { generate = generate, get_nibbles = get_nibbles, seed = random.seed };
