-- util.json for LuaXmpp: JSON (RFC 8259) encoding and decoding with Prosody's conventions:
--  * json.null stands for JSON null;
--  * a table whose keys are exactly 1..n encodes as an array, an empty table as {};
--  * util.array instances always encode as arrays, and decoded arrays are util.array;
--  * a table mixing a sequence with string keys encodes the sequence under "__array", and
--    non-string keys outside the sequence as "__hash": [k1, v1, k2, v2, ...]; decoding folds
--    both back.
local array = require "util.array";
local sorted_pairs = require "util.iterators".sorted_pairs;

local array_mt = getmetatable(array());
local s_char, s_format, s_byte = string.char, string.format, string.byte;
local t_concat, tostring, tonumber, type = table.concat, tostring, tonumber, type;

local json = {};

local null = setmetatable({}, { __tostring = function() return "null"; end });
json.null = null;

local string_escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
	["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" };
for code = 0, 31 do
	local c = s_char(code);
	string_escapes[c] = string_escapes[c] or s_format("\\u%04X", code);
end

local encodable = { number = true, string = true, table = true, boolean = true };

local write_value;

local function write_string(s, out)
	out[#out + 1] = '"' .. s:gsub('[%c"\\]', string_escapes) .. '"';
end

local function write_array(t, out, ordered)
	out[#out + 1] = "[";
	for i, v in ipairs(t) do
		if i > 1 then out[#out + 1] = ","; end
		write_value(v, out, ordered);
	end
	out[#out + 1] = "]";
end

local function write_table(t, out, ordered)
	local sequence, named, other = {}, {}, {};
	for i, v in ipairs(t) do sequence[i] = v; end
	for k, v in pairs(t) do
		if encodable[type(v)] or v == null then
			if type(k) == "string" then
				if k ~= "__array" and k ~= "__hash" then named[k] = v; end
			elseif (encodable[type(k)] or k == null) and sequence[k] == nil then
				other[k] = v;
			end
		end
	end
	if next(named) == nil and next(other) == nil and next(sequence) ~= nil then
		return write_array(sequence, out, ordered);
	end
	local members = {};
	for k, v in (ordered and sorted_pairs or pairs)(named) do
		local member = {};
		write_string(k, member);
		member[#member + 1] = ":";
		write_value(v, member, ordered);
		members[#members + 1] = t_concat(member);
	end
	if next(other) ~= nil then
		local pairs_out = {};
		for k, v in pairs(other) do
			if #pairs_out > 0 then pairs_out[#pairs_out + 1] = ","; end
			write_value(k, pairs_out, ordered);
			pairs_out[#pairs_out + 1] = ",";
			write_value(v, pairs_out, ordered);
		end
		members[#members + 1] = '"__hash":[' .. t_concat(pairs_out) .. "]";
	end
	if next(sequence) ~= nil then
		local seq_out = {};
		write_array(sequence, seq_out, ordered);
		members[#members + 1] = '"__array":' .. t_concat(seq_out);
	end
	out[#out + 1] = "{" .. t_concat(members, ",") .. "}";
end

function write_value(v, out, ordered)
	local t = type(v);
	if v == null then
		out[#out + 1] = "null";
	elseif t == "number" then
		out[#out + 1] = tostring(v);
	elseif t == "string" then
		write_string(v, out);
	elseif t == "boolean" then
		out[#out + 1] = v and "true" or "false";
	elseif t == "table" then
		if getmetatable(v) == array_mt then
			write_array(v, out, ordered);
		else
			write_table(v, out, ordered);
		end
	else
		out[#out + 1] = "null";
	end
end

function json.encode(value)
	local out = {};
	write_value(value, out, false);
	return t_concat(out);
end

function json.encode_ordered(value)
	local out = {};
	write_value(value, out, true);
	return t_concat(out);
end

function json.encode_array(value)
	local out = {};
	write_array(value, out, false);
	return t_concat(out);
end

-- Decoder: a recursive descent parser over the string; each reader returns value, next
-- position, or nil, message.

local read_value;

local function skip_space(s, pos)
	return s:find("[^ \t\r\n]", pos) or #s + 1;
end

local function utf8_of(code)
	return utf8.char(code);
end

local simple_escapes = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" };

local function read_string(s, pos)
	local parts = {};
	pos = pos + 1;
	while true do
		local stop = s:find('["\\]', pos);
		if not stop then return nil, "string eof"; end
		parts[#parts + 1] = s:sub(pos, stop - 1);
		if s:sub(stop, stop) == '"' then
			return t_concat(parts), stop + 1;
		end
		local e = s:sub(stop + 1, stop + 1);
		if simple_escapes[e] then
			parts[#parts + 1] = simple_escapes[e];
			pos = stop + 2;
		elseif e == "u" then
			local code = tonumber(s:match("^%x%x%x%x", stop + 2) or "", 16);
			if not code then return nil, "invalid escape"; end
			pos = stop + 6;
			if code >= 0xD800 and code <= 0xDBFF then
				local low = tonumber(s:match("^\\u(%x%x%x%x)", pos) or "", 16);
				if not low or low < 0xDC00 or low > 0xDFFF then return nil, "invalid escape"; end
				code = 0x10000 + (code - 0xD800) * 0x400 + (low - 0xDC00);
				pos = pos + 6;
			elseif code >= 0xDC00 and code <= 0xDFFF then
				return nil, "invalid escape";
			end
			parts[#parts + 1] = utf8_of(code);
		else
			return nil, "invalid escape";
		end
	end
end

local function fold_special(o)
	local seq = o.__array;
	if type(seq) == "table" then
		o.__array = nil;
		for _, v in ipairs(seq) do o[#o + 1] = v; end
	end
	local flat = o.__hash;
	if type(flat) == "table" then
		o.__hash = nil;
		for i = 1, #flat - 1, 2 do o[flat[i]] = flat[i + 1]; end
	end
	return o;
end

local function read_object(s, pos)
	local o = {};
	pos = skip_space(s, pos + 1);
	if s_byte(s, pos) == 0x7D then return o, pos + 1; end
	while true do
		if s_byte(s, pos) ~= 0x22 then return nil, "key expected"; end
		local key, value;
		key, pos = read_string(s, pos);
		if key == nil then return nil, pos; end
		pos = skip_space(s, pos);
		if s_byte(s, pos) ~= 0x3A then return nil, "colon expected"; end
		value, pos = read_value(s, pos + 1);
		if value == nil then return nil, pos; end
		o[key] = value;
		pos = skip_space(s, pos);
		local b = s_byte(s, pos);
		if b == 0x7D then return fold_special(o), pos + 1; end
		if b ~= 0x2C then return nil, "object eof"; end
		pos = skip_space(s, pos + 1);
	end
end

local function read_array(s, pos)
	local a = setmetatable({}, array_mt);
	pos = skip_space(s, pos + 1);
	if s_byte(s, pos) == 0x5D then return a, pos + 1; end
	while true do
		local value;
		value, pos = read_value(s, pos);
		if value == nil then return nil, pos; end
		a[#a + 1] = value;
		pos = skip_space(s, pos);
		local b = s_byte(s, pos);
		if b == 0x5D then return a, pos + 1; end
		if b ~= 0x2C then return nil, "array eof"; end
		pos = pos + 1;
	end
end

local literals = { t = { "true", true }, f = { "false", false }, n = { "null", null } };

function read_value(s, pos)
	pos = skip_space(s, pos);
	local c = s:sub(pos, pos);
	if c == "{" then return read_object(s, pos); end
	if c == "[" then return read_array(s, pos); end
	if c == '"' then return read_string(s, pos); end
	local literal = literals[c];
	if literal then
		if s:sub(pos, pos + #literal[1] - 1) == literal[1] then
			return literal[2], pos + #literal[1];
		end
		return nil, literal[1] .. " parse failed";
	end
	local number = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos);
	if number and number ~= "" and number ~= "-" then
		local n = tonumber(number);
		if n == nil then return nil, "invalid number"; end
		return n, pos + #number;
	end
	return nil, "value expected";
end

function json.decode(s)
	if type(s) ~= "string" then return nil, "string expected"; end
	local value, pos = read_value(s, 1);
	if value == nil then return nil, pos; end
	if s:find("[^ \t\r\n]", pos) then return nil, "garbage at eof"; end
	return value;
end

function json.test(value)
	local encoded = json.encode(value);
	return encoded == json.encode((json.decode(encoded)));
end

return json;
