-- util.serialization for LuaXmpp: Lua values as Lua source text, and back.
-- new(options) returns a serializer; options (all optional):
--   preset = "oneline" | "compact" | "debug" (a single line, never fails, applies __freeze,
--            unquoted identifier keys), fatal = false (unserializable values become
--            {__type=...,__error=...} instead of raising), fallback = function(value, why),
--   freeze = true (use a metatable's __freeze to pick what to write), maxdepth (127),
--   indentwith ("\t"), itemstart ("\n"), itemsep (";"), itemlast (";\n"), tstart ("{"),
--   tend ("}"), kstart ("["), kend ("]"), equals (" = "), unquoted (true or a pattern),
--   hex (a prefix: long binary strings are written as prefix"hexdigits"), multiref.
local hex_encode = require "util.hex".encode;
local envload = require "util.envload".envload;

local keywords = {};
for word in ([[and break do else elseif end false for function goto if in local nil not or
	repeat return then true until while]]):gmatch("%a+") do keywords[word] = true; end

local string_escapes = { ["\a"] = "\\a", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n", ["\r"] = "\\r",
	["\t"] = "\\t", ["\v"] = "\\v", ["\\"] = "\\\\", ['"'] = '\\"', ["'"] = "\\'" };
for code = 0, 255 do
	local c = string.char(code);
	if not string_escapes[c] then string_escapes[c] = ("\\%03d"):format(code); end
end

local function raise(value, why)
	error("Can't serialize " .. type(value) .. (why and ": " .. why or ""), 0);
end

local function placeholder(value, why)
	return ("{__type=%q,__error=%q}"):format(type(value), why or "fail");
end

local presets = {
	oneline = { indentwith = "", itemstart = " ", itemlast = "", tend = " }" };
	compact = { indentwith = "", itemstart = "", itemlast = "", equals = "=", unquoted = true };
};

local function new(options)
	if type(options) ~= "table" then options = { preset = options }; end
	local opt = {};
	for k, v in pairs(options) do opt[k] = v; end
	if opt.preset == "debug" then
		opt.preset, opt.freeze, opt.fatal, opt.unquoted = "oneline", true, false, true;
		opt.fallback = opt.fallback or placeholder;
	end
	for k, v in pairs(presets[opt.preset] or {}) do
		if opt[k] == nil then opt[k] = v; end
	end

	local fallback = opt.fallback or (opt.fatal == false and placeholder) or raise;
	local indentwith, itemstart = opt.indentwith or "\t", opt.itemstart or "\n";
	local itemsep, itemlast = opt.itemsep or ";", opt.itemlast or ";\n";
	local tstart, tend = opt.tstart or "{", opt.tend or "}";
	local kstart, kend, equals = opt.kstart or "[", opt.kend or "]", opt.equals or " = ";
	local unquoted = opt.unquoted == true and "^[%a_][%w_]*$" or opt.unquoted;
	local maxdepth, hex, freeze, multiref = opt.maxdepth or 127, opt.hex, opt.freeze, opt.multiref;

	local write;

	local function write_string(s)
		local escaped = '"' .. s:gsub("[%z\1-\31\"'\\\127-\255]", string_escapes) .. '"';
		if type(hex) == "string" and #escaped > #s * 2 + 2 + #hex then
			return hex .. '"' .. hex_encode(s) .. '"';
		end
		return escaped;
	end

	local function write_number(n)
		if math.type(n) == "integer" then return ("%d"):format(n); end
		if n == math.huge then return "(1/0)"; end
		if n == -math.huge then return "(-1/0)"; end
		if n ~= n then return "(0/0)"; end
		return ("%.18g"):format(n);
	end

	local function write_table(t, seen, depth)
		if seen[t] then return fallback(t, "table has multiple references"); end
		if depth > maxdepth then return fallback(t, "max table depth reached"); end
		seen[t] = true;
		local prefix = "";
		if freeze then
			local mt = getmetatable(t);
			if type(mt) == "table" and type(mt.__freeze) == "function" then
				local frozen = mt.__freeze(t);
				if type(frozen) == "string" then return frozen; end
				if type(mt.__name) == "string" then prefix = mt.__name; end
				t = frozen;
			end
		end
		local out, next_index = { prefix, tstart }, 1;
		local indent = indentwith:rep(depth);
		local any = false;
		for k, v in next, t, nil do
			any = true;
			out[#out + 1] = itemstart .. indent;
			if k == next_index then
				next_index = next_index + 1;
			elseif unquoted and type(k) == "string" and not keywords[k] and k:match(unquoted) then
				out[#out + 1] = k .. equals;
			else
				out[#out + 1] = kstart .. write(k, seen, depth + 1) .. kend .. equals;
			end
			out[#out + 1] = write(v, seen, depth + 1);
			out[#out + 1] = itemsep;
		end
		if any then
			out[#out] = itemlast;
			out[#out + 1] = indentwith:rep(depth - 1);
		end
		out[#out + 1] = tend;
		if multiref then seen[t] = nil; end
		return table.concat(out);
	end

	function write(v, seen, depth)
		local t = type(v);
		if t == "table" then return write_table(v, seen, depth); end
		if t == "string" then return write_string(v); end
		if t == "number" then return write_number(v); end
		if t == "boolean" then return v and "true" or "false"; end
		if t == "nil" then return "nil"; end
		return fallback(v);
	end

	return function(value) return write(value, {}, 1); end;
end

-- Evaluates serialized data in an empty environment.
local function deserialize(s)
	if type(s) ~= "string" then return nil; end
	local f, err = envload("return " .. s, "=serialized data", {});
	if not f then return nil, err; end
	local ok, result = pcall(f);
	if not ok then return nil, result; end
	return result;
end

local default = new();

return {
	new = new;
	serialize = function(value, options)
		if options == nil then return default(value); end
		return new(options)(value);
	end;
	deserialize = deserialize;
};
