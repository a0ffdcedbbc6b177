-- util.hex for LuaXmpp: lower-case hexadecimal encoding of byte strings.
local s_format, s_byte, s_char, s_gsub, s_lower = string.format, string.byte, string.char, string.gsub, string.lower;

local function encode(s)
	return (s_gsub(s, ".", function(c) return s_format("%02x", s_byte(c)); end));
end

-- Non-hex characters between digit pairs are ignored, as Prosody's decoder does.
local function decode(s)
	return (s_gsub(s_lower(s), "[^%x]*(%x%x)[^%x]*", function(pair) return s_char(tonumber(pair, 16)); end));
end

return { encode = encode, decode = decode, to = encode, from = decode };
