-- util.interpolation for LuaXmpp: templates such as "Hello {name}!".
-- new(pattern, escape, funcs) returns render(template, values). Inside a block:
--   {name}        escaped value (dotted names index into tables: {user.name})
--   {name!}       raw value
--   {name?text}   text when the value is missing;  {name&text} text (rendered) when present
--   {name#text}   text rendered with the value as values (tables: once per item of a list)
--   {name|f|g}    value passed through funcs.f, then funcs.g
local function new(pattern, escape, funcs)
	local render;

	local function lookup(values, name)
		local value = values[name];
		if value == nil and name:find(".", 2, true) then
			value = values;
			for part in name:gmatch("[^.]+") do
				if type(value) ~= "table" then return nil; end
				value = value[part];
			end
		end
		return value;
	end

	local function block(values, text)
		text = text:sub(2, -2);
		local name, raw, op, rest = text:match("^([%a_][%w_.]*)(!?)(%p?)()");
		if not name then return nil; end
		local value = lookup(values, name);
		while op == "|" and funcs do
			local fname;
			fname, raw, op, rest = text:match("^([%a_][%w_.]*)(!?)(%p?)()", rest);
			local f = fname and funcs[fname];
			if value ~= nil and f then value = f(value); end
		end
		local tail = text:sub(rest);
		if op == "?" then
			if value == nil or value == "" then return render(tail, values); end
		elseif op == "&" then
			if value == nil or value == "" then return ""; end
			return render(tail, values);
		elseif op == "#" then
			if type(value) ~= "table" then return ""; end
			if value[1] ~= nil then
				local out = {};
				for i, item in ipairs(value) do
					out[i] = render(tail, type(item) == "table" and item or { item = item, idx = i });
				end
				return table.concat(out);
			end
			return render(tail, value);
		elseif op ~= "" and op ~= "|" then
			return nil;
		end
		if value == nil then return ""; end
		if type(value) == "table" then value = table.concat(value, " "); end
		value = tostring(value);
		if raw == "!" or not escape then return value; end
		return escape(value);
	end

	function render(template, values)
		return (template:gsub(pattern, function(text) return block(values, text); end));
	end

	return render;
end

return { new = new };
