-- lxp.lom (LuaXmpp's own, over the native tokenizer luaxmpp.xmlscan): parses one XML document
-- into LuaExpat's "Lua Object Model": an element is { tag = name, attr = { [1] = first attribute
-- name, ..., name = value }, child1, child2, ... } where a child is an element or a string (runs
-- of character data joined into one string). Without namespace processing, as LuaExpat does
-- when no separator is given: tags and attribute names are the qualified names as written and
-- xmlns declarations are ordinary attributes. Comments, processing instructions, the XML
-- declaration and a DOCTYPE are skipped. parse(input) takes a string, a table of strings, an
-- iterator function or a file, and returns the root element, or nil and an error message.

local scan = require "luaxmpp.xmlscan".scan;

local function collect(input)
	local kind = type(input);
	if kind == "string" then return input; end
	local parts, next_part = {}, nil;
	if kind == "table" then
		local i = 0;
		next_part = function() i = i + 1; return input[i]; end
	elseif kind == "function" then
		next_part = input;
	elseif (kind == "userdata" or kind == "table") and input.read then
		next_part = function() local l = input:read(); return l and l .. "\n"; end
	else
		error("bad argument #1 to 'parse' (string, table, function or file expected, got " .. kind .. ")", 3);
	end
	for part in next_part do parts[#parts + 1] = part; end
	return table.concat(parts);
end

local function add_text(element, s)
	local n = #element;
	if type(element[n]) == "string" then element[n] = element[n] .. s; else element[n + 1] = s; end
end

local function new_element(qname, flat)
	local attr = {};
	for i = 1, #flat, 2 do
		local name = flat[i];
		if attr[name] ~= nil then return nil, "duplicate attribute"; end
		attr[#attr + 1] = name;
		attr[name] = flat[i + 1];
	end
	return { tag = qname, attr = attr };
end

-- Applies one token to the open-element stack; returns nil and a message on a well-formedness error.
local function apply(state, t)
	local stack, kind = state.stack, t[1];
	if kind == "start" then
		if state.root and #stack == 0 then return nil, "junk after document element"; end
		local element, err = new_element(t[2], t[3]);
		if not element then return nil, err; end
		if #stack > 0 then local parent = stack[#stack]; parent[#parent + 1] = element; end
		state.root = state.root or element;
		if not t[4] then stack[#stack + 1] = element; end
	elseif kind == "end" then
		local open = stack[#stack];
		if not open or open.tag ~= t[2] then return nil, "mismatched tag"; end
		stack[#stack] = nil;
	elseif kind == "text" or kind == "cdata" then
		if #stack > 0 then
			if t[2] ~= "" then add_text(stack[#stack], t[2]); end
		elseif kind == "cdata" or t[2]:find("[^ \t\r\n]") then
			return nil, state.root and "junk after document element" or "syntax error";
		end
	elseif kind == "error" then
		return nil, t[2];
	end
	return true;
end

local function parse(input, opts)
	if opts and (opts.separator or opts.threat) then
		return nil, "lxp.lom: the separator and threat options are not supported";
	end
	local text = collect(input);
	local tokens, used = scan(text);
	local state = { stack = {} };
	for _, t in ipairs(tokens) do
		local ok, err = apply(state, t);
		if not ok then return nil, err; end
	end
	if #state.stack > 0 or not state.root or text:sub(used + 1):find("[^ \t\r\n]") then
		return nil, "no element found";
	end
	return state.root;
end

-- The first element named tag in a depth-first walk from self (self included), or nil.
local function find_elem(self, tag)
	if self.tag == tag then return self; end
	for _, child in ipairs(self) do
		if type(child) == "table" then
			local found = find_elem(child, tag);
			if found then return found; end
		end
	end
	return nil;
end

-- Iterates the element children of self, only those named tag when given.
local function list_children(self, tag)
	local i = 0;
	return function()
		while true do
			i = i + 1;
			local child = self[i];
			if child == nil then return nil; end
			if type(child) == "table" and (tag == nil or child.tag == tag) then return child; end
		end
	end
end

return { parse = parse, find_elem = find_elem, list_children = list_children };
