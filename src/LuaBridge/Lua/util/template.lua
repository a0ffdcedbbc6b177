-- util.template: XML templates with "{name}" placeholders in text and attribute values.
-- template(xml_text) returns a (cached) template whose apply(data) builds a fresh stanza with
-- every placeholder replaced by data[name] (or "" when absent). Whitespace around text is
-- trimmed and whitespace-only text dropped when the template is read.

local st = require "util.stanza";
local parse_xml = require "util.xml".parse;

local function trim(node)
	for i = #node, 1, -1 do
		local child = node[i];
		if type(child) == "table" then
			trim(child);
		else
			child = child:match("^%s*(.-)%s*$");
			if child == "" then table.remove(node, i); else node[i] = child; end
		end
	end
end

local function fill(text, data)
	return (text:gsub("{([^}]*)}", function(key)
		local value = data[key];
		if value == nil then return ""; end
		return tostring(value);
	end));
end

local function build(node, data, parent_ns)
	local attr = {};
	for k, v in pairs(node.attr) do
		-- children repeat their parent's xmlns only when it differs
		if k ~= "xmlns" or v ~= parent_ns then attr[k] = fill(v, data); end
	end
	local out = setmetatable({ name = node.name, attr = attr, tags = {} }, st.stanza_mt);
	for _, child in ipairs(node) do
		if type(child) == "table" then
			local built = build(child, data, node.attr.xmlns);
			out[#out + 1] = built;
			out.tags[#out.tags + 1] = built;
		else
			out[#out + 1] = fill(child, data);
		end
	end
	return out;
end

local template_mt = { __tostring = function(t) return t.name; end };

local function create(cache, text)
	local tree, err = parse_xml(text);
	if not tree then error(err, 3); end
	trim(tree);
	local info = debug.getinfo(3, "Sl");
	local name = info and ("template(%s:%d)"):format(info.short_src:match("[^\\/]*$"), info.currentline)
		or "template(unknown)";
	local template = setmetatable({
		name = name, text = text,
		apply = function(data) return build(tree, data or {}, ""); end,
	}, template_mt);
	cache[text] = template;
	return template;
end

local cache = setmetatable({}, { __mode = "k", __index = create });

return function(text) return cache[text]; end;
