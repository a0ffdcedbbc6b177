-- util.xml: parse(text[, options]) turns one XML document into a util.stanza tree (the root
-- element), or returns nil and "message (line L, col C)". Comments and processing instructions
-- are refused unless options.allow_comments / options.allow_processing_instructions; a DOCTYPE
-- always is (no entity expansion tricks).

local st = require "util.stanza";
local xmlreader = require "util.xmlreader";

-- Line and column (1-based line, 0-based column as expat reports) of a byte offset.
local function line_col(text, offset)
	local line, col = 1, 0;
	local last_nl = 0;
	for nl in text:sub(1, offset):gmatch("()\n") do
		line = line + 1;
		last_nl = nl;
	end
	col = offset - last_nl;
	return line, col;
end

local function parse(text, options)
	options = options or {};
	local root = st.stanza("root");
	local namespaces = {};  -- prefix declarations in scope, innermost last: { prefix, uri, depth }

	local handler = {};
	function handler.start(reader, ns, name, attr, decls)
		for _, d in ipairs(decls) do
			if d[1] ~= "" then namespaces[#namespaces + 1] = { d[1], d[2], reader:depth() }; end
		end
		if ns ~= "" then attr.xmlns = ns; end
		-- Prosody keeps the prefixes in scope of an element so it can serialise them back.
		local in_scope = {};
		for _, d in ipairs(namespaces) do in_scope[d[1]] = d[2]; end
		root:tag(name, attr, in_scope);
	end
	function handler.text(_, s) root:text(s); end
	function handler.finish(reader)
		local depth = reader:depth() + 1;
		while #namespaces > 0 and namespaces[#namespaces][3] >= depth do namespaces[#namespaces] = nil; end
		root:up();
	end
	function handler.special(_, kind)
		if kind == "comment" then return options.allow_comments; end
		if kind == "pi" then return options.allow_processing_instructions; end
		if kind == "decl" then return true; end
		return false;
	end

	local reader = xmlreader.new(handler);
	local ok, err = reader:feed(text);
	if ok then ok, err = reader:finish(); end
	if not ok then
		local line, col = line_col(text, reader.position or 0);
		return nil, ("%s (line %d, col %d)"):format(err, line, col);
	end
	return root.tags[1];
end

return { parse = parse };
