-- util.xmlreader (LuaXmpp's own): an incremental, namespace-aware XML reader over the native
-- tokenizer (luaxmpp.xmlscan), shared by util.xml and util.xmppstream.
--
-- reader = new(handler): handler.start(reader, ns, name, attr, decls), handler.text(reader, s),
-- handler.finish(reader, ns, name), and handler.special(reader, kind, ...) for comments ("comment",
-- text), processing instructions ("pi", target, data), the XML declaration ("decl", attrs) and
-- DOCTYPE ("doctype"), which returns true to accept it. Any handler may call reader:stop().
-- Attribute names: plain for unprefixed ones, "xml:lang" style for the XML namespace (XML
-- Namespaces §3), "namespace\1local" for any other namespace, as Prosody's stanzas carry them.

local scan = require "luaxmpp.xmlscan".scan;

local XML_NS = "http://www.w3.org/XML/1998/namespace";
local XMLNS_NS = "http://www.w3.org/2000/xmlns/";

local reader = {};
reader.__index = reader;

local function new(handler)
	return setmetatable({
		handler = handler,
		pending = "",           -- bytes not yet forming a complete token
		consumed = 0,           -- bytes turned into tokens so far
		scopes = { { xml = XML_NS } }, -- prefix -> namespace, innermost last
		open = {},              -- qualified names of open elements
		stopped = false,
		err = nil,
	}, reader);
end

function reader:stop() self.stopped = true; return true; end

function reader:depth() return #self.open; end

-- Bytes received but not yet consumed by complete tokens.
function reader:buffered() return #self.pending; end

local function split(qname)
	local prefix, name = qname:match("^([^:]*):(.+)$");
	if prefix then return prefix, name; end
	return nil, qname;
end

local function lookup(scopes, prefix)
	for i = #scopes, 1, -1 do
		local uri = scopes[i][prefix];
		if uri ~= nil then return uri; end
	end
end

function reader:fail(message)
	self.err = self.err or message;
	self.stopped = true;
	return nil, self.err;
end

function reader:on_start(qname, flat)
	local scope, decls = {}, {};
	for i = 1, #flat, 2 do
		local k, v = flat[i], flat[i + 1];
		if k == "xmlns" then
			scope[""] = v;
			decls[#decls + 1] = { "", v };
		elseif k:sub(1, 6) == "xmlns:" then
			local prefix = k:sub(7);
			if prefix == "xmlns" or (prefix == "xml" and v ~= XML_NS) or v == "" then
				return self:fail("reserved prefix (xml) must not be undeclared or bound to another namespace name");
			end
			scope[prefix] = v;
			decls[#decls + 1] = { prefix, v };
		end
	end
	local scopes = self.scopes;
	scopes[#scopes + 1] = scope;
	self.open[#self.open + 1] = qname;

	local prefix, name = split(qname);
	local ns = lookup(scopes, prefix or "");
	if prefix and not ns then return self:fail("unbound prefix"); end

	local attr = {};
	for i = 1, #flat, 2 do
		local k, v = flat[i], flat[i + 1];
		if k ~= "xmlns" and k:sub(1, 6) ~= "xmlns:" then
			local aprefix, aname = split(k);
			if aprefix then
				local ans = lookup(scopes, aprefix);
				if not ans then return self:fail("unbound prefix"); end
				if ans == XML_NS then k = "xml:" .. aname; else k = ans .. "\1" .. aname; end
				if attr[k] ~= nil then return self:fail("duplicate attribute"); end
			end
			attr[k] = v;
		end
	end
	self.handler.start(self, ns or "", name, attr, decls);
	return true;
end

function reader:on_end(qname)
	local open = self.open;
	if open[#open] ~= qname then return self:fail("mismatched tag"); end
	open[#open] = nil;
	local prefix, name = split(qname);
	local ns = lookup(self.scopes, prefix or "") or "";
	self.scopes[#self.scopes] = nil;
	self.handler.finish(self, ns, name);
	return true;
end

function reader:on_special(kind, ...)
	local accept = self.handler.special and self.handler.special(self, kind, ...);
	if not accept and not self.stopped then
		return self:fail(kind == "doctype" and "DOCTYPE not allowed" or kind .. " not allowed");
	end
	return true;
end

local function attr_map(flat)
	local map = {};
	for i = 1, #flat, 2 do map[flat[i]] = flat[i + 1]; end
	return map;
end

-- Handles one token; false stops the feed.
function reader:token(t)
	local kind = t[1];
	if kind == "start" then
		if not self:on_start(t[2], t[3]) then return false; end
		if t[4] and not self.stopped and not self:on_end(t[2]) then return false; end
	elseif kind == "end" then
		if not self:on_end(t[2]) then return false; end
	elseif kind == "text" or kind == "cdata" then
		if #self.open == 0 then
			if kind == "cdata" or t[2]:find("[^ \t\r\n]") then return self:fail("text outside the root element") and false; end
		elseif t[2] ~= "" then
			self.handler.text(self, t[2]);
		end
	elseif kind == "error" then
		self:fail(t[2]);
		return false;
	elseif kind == "comment" then
		if not self:on_special("comment", t[2]) then return false; end
	elseif kind == "pi" then
		if not self:on_special("pi", t[2], t[3][2]) then return false; end
	elseif kind == "decl" then
		if self.seen_any then return self:fail("XML or text declaration not at start of entity") and false; end
		if not self:on_special("decl", attr_map(t[3])) then return false; end
	elseif kind == "doctype" then
		if not self:on_special("doctype", t[2]) then return false; end
	end
	self.seen_any = true;
	return not self.stopped;
end

-- Feeds bytes; returns true, or nil and the error once the document is not well-formed.
-- Tokens after a stop() in the same chunk are dropped, as with a stopped expat parser.
function reader:feed(data)
	if self.err then return nil, self.err; end
	if self.stopped then return nil, "parsing stopped"; end
	local buffer = self.pending .. data;
	local tokens, used = scan(buffer);
	local base = self.consumed;
	for _, t in ipairs(tokens) do
		self.position = base + t[5];
		if not self:token(t) then
			self.pending = "";
			if self.err then return nil, self.err; end
			return true;
		end
	end
	self.pending = buffer:sub(used + 1);
	self.consumed = base + used;
	return true;
end

-- Ends the document: true when every element was closed and nothing but whitespace is left.
function reader:finish()
	if self.err then return nil, self.err; end
	if #self.open > 0 or self.pending:find("[^ \t\r\n]") then return nil, "no element found"; end
	if not self.seen_any then return nil, "no element found"; end
	return true;
end

return { new = new, xml_namespace = XML_NS, xmlns_namespace = XMLNS_NS };
