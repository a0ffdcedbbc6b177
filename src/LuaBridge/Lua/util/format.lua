-- util.format for LuaXmpp: string.format that never raises, for log messages.
--  * a nil argument prints as "(nil)";
--  * %s applies tostring; control characters become Unicode control pictures (U+2400 block)
--    and embedded newlines are followed by a tab so a log line stays readable;
--  * a value that does not suit its conversion (%d of 1.5, %x of -1, %d of a string) prints
--    as "[value]";
--  * %q of anything is a one-line Lua serialization;
--  * arguments beyond the format string are appended as " [value]".
local pack = require "util.table".pack;
local utf8_valid = require "util.encodings".utf8.valid;
local dump = require "util.serialization".new("debug");

local integer_conversions = { c = true, d = true, i = true, o = true, u = true, x = true, X = true };
local unsigned_conversions = { o = true, u = true, x = true, X = true };

-- U+2400 + code for C0 controls, U+2421 for DEL.
local function control_picture(c)
	local code = c:byte();
	if code == 127 then return utf8.char(0x2421); end
	return utf8.char(0x2400 + code);
end

local function clean(s)
	return (s:gsub("[%z\1-\8\11-\31\127]", control_picture):gsub("\n\t?", "\n\t"));
end

local function format(formatstring, ...)
	local args = pack(...);
	local i = 0;
	formatstring = formatstring:gsub("%%[^cdiouxXaAeEfgGpqs%%]*[cdiouxXaAeEfgGpqs%%]", function(spec)
		if spec == "%%" then return nil; end
		i = i + 1;
		local arg = args[i];
		local conversion = spec:sub(-1);
		if arg == nil then
			args[i] = "nil";
			return "(%s)";
		end
		local t = type(arg);
		if conversion == "q" then
			args[i] = dump(arg);
			return "%s";
		end
		if conversion == "p" then
			if t == "boolean" or t == "number" or t == "string" then
				args[i] = tostring(arg);
				return "[%s]";
			end
			return nil;
		end
		if conversion == "s" then
			local s = tostring(arg);
			if not utf8_valid(s) then
				args[i] = dump(s);
				return "%s";
			end
			args[i] = clean(s);
			return spec;
		end
		-- Numeric conversions.
		if t ~= "number" then
			args[i] = clean(tostring(arg));
			return "[%s]";
		end
		if integer_conversions[conversion] and math.type(arg) ~= "integer" then
			args[i] = tostring(arg);
			return "[%s]";
		end
		if unsigned_conversions[conversion] and arg < 0 then
			args[i] = tostring(arg);
			return "[%s]";
		end
		return nil;
	end);
	for extra = i + 1, args.n do
		local arg = args[extra];
		if arg == nil then args[extra] = "(nil)"; else args[extra] = clean(tostring(arg)); end
		formatstring = formatstring .. " [%s]";
	end
	return formatstring:format(table.unpack(args, 1, args.n));
end

return { format = format };
