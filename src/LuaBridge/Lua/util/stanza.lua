-- util.stanza for LuaXmpp: XML element trees shaped as Prosody's (MIT-compatible API,
-- independent implementation). An element is a table
--   { name = "message", attr = { ... }, tags = { child elements }, [1..n] = children (elements or strings) }
-- whose metatable is exactly stanza_mt; modules rely on that identity (is_stanza). An event's
-- stanza from C# may be lazy until first touched (lazy_mt, below).
-- Namespaced attributes use the key "namespace\1name"; xml:lang keeps its prefixed key "xml:lang".

local utf8_valid = require "util.encodings".utf8.valid;

local type, pairs, ipairs, tostring, error = type, pairs, ipairs, tostring, error;
local setmetatable, getmetatable = setmetatable, getmetatable;
local next, rawget, rawset = next, rawget, rawset;
local s_find, s_sub, s_match, s_gsub, s_rep = string.find, string.sub, string.match, string.gsub, string.rep;
local t_concat, t_remove = table.concat, table.remove;

local NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

local stanza_mt = { __name = "stanza" };
stanza_mt.__index = stanza_mt;

-- XML 1.0 §2.2 allows only tab, LF and CR below U+0020. Attribute names may also carry
-- the \1 namespace separator.
local function has_bad_control(s, is_attr_name)
	if is_attr_name then
		return s_find(s, "[%z\2-\8\11\12\14-\31]") ~= nil;
	end
	return s_find(s, "[%z\1-\8\11\12\14-\31]") ~= nil;
end

local function assert_name(name, kind)
	local problem;
	if type(name) ~= "string" then
		problem = "expected string, got " .. type(name);
	elseif name == "" then
		problem = "empty string";
	elseif s_find(name, "[<>& '\"]") then
		problem = "contains invalid characters";
	elseif has_bad_control(name, kind == "attribute") then
		problem = "contains control characters";
	elseif not utf8_valid(name) then
		problem = "contains invalid utf8";
	end
	if problem then error("invalid " .. kind .. " name: " .. problem, 3); end
end

local function assert_text(value, kind)
	local problem;
	if type(value) ~= "string" then
		problem = "expected string, got " .. type(value);
	elseif has_bad_control(value, false) then
		problem = "contains control characters";
	elseif not utf8_valid(value) then
		problem = "contains invalid utf8";
	end
	if problem then error("invalid " .. kind .. " value: " .. problem, 3); end
end

local function assert_attributes(attr)
	if attr == nil then return; end
	if type(attr) ~= "table" then
		error("invalid attributes: expected table, got " .. type(attr), 3);
	end
	for k, v in pairs(attr) do
		assert_name(k, "attribute");
		assert_text(v, "attribute");
	end
end

-- A lazy stanza (LuaXmpp, issue 11) stands for a C# element that an event carries into Lua:
-- an empty table with only its handle (_lazy_id) and lazy_mt. The first access of any field,
-- a method, #, pairs, ipairs or tostring fills it in place from the C# element (the bridge's
-- filler) and gives it stanza_mt, so from then on it is an ordinary stanza (the same table, so
-- identity holds). A handler that never looks at the stanza costs no conversion at all.
-- lazy_live (handle → table, weak values) tells C# which unfilled ones Lua still holds, so it
-- can let go of the others' elements (no __gc: a finalizer would keep a filled tree alive for
-- another collection cycle).
local lazy_mt = { __name = "stanza" };
local lazy_filler; -- function(t, id): fills t and sets stanza_mt (set by core/bridge.lua)
local lazy_live = setmetatable({}, { __mode = "v" });

local function materialize(t)
	local id = rawget(t, "_lazy_id");
	if id == nil then return; end
	rawset(t, "_lazy_id", nil);
	lazy_live[id] = nil;
	lazy_filler(t, id);
end

lazy_mt.__index = function(t, k) materialize(t); return t[k]; end;
lazy_mt.__newindex = function(t, k, v) materialize(t); t[k] = v; end;
lazy_mt.__len = function(t) materialize(t); return #t; end;
lazy_mt.__pairs = function(t) materialize(t); return next, t, nil; end;
lazy_mt.__tostring = function(t) materialize(t); return tostring(t); end;

local function is_stanza(value)
	local mt = getmetatable(value);
	return mt == stanza_mt or mt == lazy_mt;
end

local function new_stanza(name, attr, namespaces)
	assert_name(name, "tag");
	assert_attributes(attr);
	return setmetatable({ name = name, attr = attr or {}, namespaces = namespaces, tags = {} }, stanza_mt);
end

-- The builder cursor: self.last_add is the stack of open descendants; the innermost one
-- receives new children.
local function cursor(self)
	local open = self.last_add;
	return open and open[#open] or self;
end

function stanza_mt:add_direct_child(child)
	if is_stanza(child) then
		self.tags[#self.tags + 1] = child;
	else
		assert_text(child, "text");
	end
	self[#self + 1] = child;
end

function stanza_mt:add_child(child)
	cursor(self):add_direct_child(child);
	return self;
end

function stanza_mt:tag(name, attr, namespaces)
	local child = new_stanza(name, attr, namespaces);
	local open = self.last_add;
	if not open then
		open = {};
		self.last_add = open;
	end
	cursor(self):add_direct_child(child);
	open[#open + 1] = child;
	return self;
end

function stanza_mt:text(text)
	if text ~= nil and text ~= "" then
		cursor(self):add_direct_child(text);
	end
	return self;
end

function stanza_mt:up()
	local open = self.last_add;
	if open then t_remove(open); end
	return self;
end

function stanza_mt:at_top()
	local open = self.last_add;
	return open == nil or #open == 0;
end

function stanza_mt:reset()
	self.last_add = nil;
	return self;
end

function stanza_mt:text_tag(name, text, attr, namespaces)
	return self:tag(name, attr, namespaces):text(text):up();
end

function stanza_mt:query(xmlns)
	return self:tag("query", { xmlns = xmlns });
end

function stanza_mt:body(text, attr)
	return self:text_tag("body", text, attr);
end

-- A child matches when its name matches (any name if nil) and its xmlns equals the
-- requested one, or, when none is requested, the parent's own xmlns.
local function matches(parent, child, name, xmlns)
	if name and child.name ~= name then return false; end
	if xmlns then return child.attr.xmlns == xmlns; end
	return child.attr.xmlns == parent.attr.xmlns;
end

function stanza_mt:get_child(name, xmlns)
	for _, child in ipairs(self.tags) do
		if matches(self, child, name, xmlns) then return child; end
	end
	return nil;
end

function stanza_mt:get_child_text(name, xmlns)
	local child = self:get_child(name, xmlns);
	if child then return child:get_text(); end
	return nil;
end

function stanza_mt:get_child_attr(name, xmlns, attr_name)
	local child = self:get_child(name, xmlns);
	if child then return child.attr[attr_name]; end
	return nil;
end

function stanza_mt:child_with_name(name)
	for _, child in ipairs(self.tags) do
		if child.name == name then return child; end
	end
	return nil;
end

function stanza_mt:child_with_ns(xmlns)
	for _, child in ipairs(self.tags) do
		if child.attr.xmlns == xmlns then return child; end
	end
	return nil;
end

function stanza_mt:children()
	local i = 0;
	return function(parent)
		i = i + 1;
		return parent[i];
	end, self, i;
end

function stanza_mt:childtags(name, xmlns)
	local tags, next_index = self.tags, 1;
	local count = #tags;
	return function()
		while next_index <= count do
			local child = tags[next_index];
			next_index = next_index + 1;
			if matches(self, child, name, xmlns) then return child; end
		end
		return nil;
	end;
end

function stanza_mt:get_child_with_attr(name, xmlns, attr_name, attr_value, normalize)
	for child in self:childtags(name, xmlns) do
		local value = child.attr[attr_name];
		if normalize then value = normalize(value); end
		if value == attr_value then return child; end
	end
	return nil;
end

-- Calls callback on every child element; its result replaces the element, nil removes it.
-- Text children are kept. self.tags is rebuilt to stay in step with the children.
function stanza_mt:maptags(callback)
	local kept, kept_tags = {}, {};
	for i = 1, #self do
		local child = self[i];
		if is_stanza(child) or type(child) == "table" then
			local replacement = callback(child);
			if replacement ~= nil then
				kept[#kept + 1] = replacement;
				kept_tags[#kept_tags + 1] = replacement;
			end
		else
			kept[#kept + 1] = child;
		end
	end
	for i = #self, 1, -1 do self[i] = nil; end
	for i = 1, #kept do self[i] = kept[i]; end
	local tags = self.tags;
	for i = #tags, 1, -1 do tags[i] = nil; end
	for i = 1, #kept_tags do tags[i] = kept_tags[i]; end
	return self;
end

function stanza_mt:remove_children(name, xmlns)
	xmlns = xmlns or self.attr.xmlns;
	return self:maptags(function(child)
		if (name == nil or child.name == name) and child.attr.xmlns == xmlns then
			return nil;
		end
		return child;
	end);
end

-- Path syntax: steps separated by "/", each "{namespace}name" (either part optional),
-- ending optionally in "#" (the text of the last element) or "@attr" (an attribute of the
-- element reached so far).
function stanza_mt:find(path)
	local node, pos, stop = self, 1, #path + 1;
	while node do
		local first = s_sub(path, pos, pos);
		if first == "@" then
			return node.attr[s_sub(path, pos + 1)];
		end
		local xmlns;
		if first == "{" then
			xmlns, pos = s_match(path, "^([^}]+)}()", pos + 1);
			if not xmlns then return nil; end
		end
		local name, separator;
		name, separator, pos = s_match(path, "^([^@/#]*)([/#]?)()", pos);
		if name == "" then name = nil; end
		if pos == stop then
			if separator == "#" then return node:get_child_text(name, xmlns); end
			return node:get_child(name, xmlns);
		end
		node = node:get_child(name, xmlns);
	end
	return nil;
end

function stanza_mt:get_text()
	if #self.tags == 0 then
		return t_concat(self);
	end
	return nil;
end

-- Returns type, condition, text and the application-specific element of an error stanza
-- (RFC 6120 §8.3.2).
function stanza_mt:get_error()
	local err = self:get_child("error");
	if not err then return nil, nil, nil, nil; end
	local condition, text, extra;
	for _, child in ipairs(err.tags) do
		if child.attr.xmlns == NS_STANZAS then
			if child.name == "text" then
				if not text then text = child:get_text(); end
			elseif not condition then
				condition = child.name;
			end
		elseif not extra then
			extra = child;
		end
	end
	return err.attr.type, condition or "undefined-condition", text, extra;
end

local function copy(element, top_only)
	local attr = {};
	for k, v in pairs(element.attr) do attr[k] = v; end
	local namespaces;
	if element.namespaces then
		namespaces = {};
		for k, v in pairs(element.namespaces) do namespaces[k] = v; end
	end
	local result = setmetatable({ name = element.name, attr = attr, namespaces = namespaces, tags = {} }, stanza_mt);
	if not top_only then
		for i = 1, #element do
			local child = element[i];
			if type(child) == "table" then
				child = copy(child, false);
				result.tags[#result.tags + 1] = child;
			end
			result[i] = child;
		end
	end
	return result;
end

local function clone(element, top_only)
	if not is_stanza(element) then
		error("bad argument to clone: expected stanza, got " .. type(element), 2);
	end
	return copy(element, top_only);
end

local xml_entities = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ["'"] = "&apos;", ["\""] = "&quot;" };
local function xml_escape(s)
	return (s_gsub(s, "[&<>'\"]", xml_entities));
end

-- Serialises element into out. An xmlns equal to the parent's is omitted; "ns\1name"
-- attributes get a generated prefix declared on the same element.
local function serialize(element, out, parent_xmlns)
	out[#out + 1] = "<" .. element.name;
	local prefix_count = 0;
	for k, v in pairs(element.attr) do
		local ns, local_name = s_match(k, "^([^\1]*)\1(.*)$");
		if ns then
			prefix_count = prefix_count + 1;
			local prefix = "ns" .. prefix_count;
			out[#out + 1] = " xmlns:" .. prefix .. "='" .. xml_escape(ns) .. "' " .. prefix .. ":" .. local_name .. "='" .. xml_escape(v) .. "'";
		elseif not (k == "xmlns" and v == parent_xmlns) then
			out[#out + 1] = " " .. k .. "='" .. xml_escape(v) .. "'";
		end
	end
	if #element == 0 then
		out[#out + 1] = "/>";
		return;
	end
	out[#out + 1] = ">";
	local own_xmlns = element.attr.xmlns;
	for i = 1, #element do
		local child = element[i];
		if type(child) == "table" then
			serialize(child, out, own_xmlns);
		else
			out[#out + 1] = xml_escape(child);
		end
	end
	out[#out + 1] = "</" .. element.name .. ">";
end

function stanza_mt.__tostring(element)
	local out = {};
	serialize(element, out, nil);
	return t_concat(out);
end

function stanza_mt:top_tag()
	local s = tostring(copy(self, true));
	return s_sub(s, 1, -3) .. ">";
end

-- A plain-table form safe for storage and serialization (no metatables, no builder state).
local function preserialize(element)
	local result = { name = element.name, attr = element.attr };
	for _, child in ipairs(element) do
		if type(child) == "table" then
			result[#result + 1] = preserialize(child);
		else
			result[#result + 1] = child;
		end
	end
	return result;
end
stanza_mt.__freeze = preserialize;

local function deserialize(data)
	if not data then return nil; end
	local attr = {};
	for k, v in pairs(data.attr or {}) do
		if type(k) == "string" then
			-- COMPAT: older stores wrote namespaced attributes as "ns|name".
			local ns, local_name = s_match(k, "^([^|\1]+)|(.+)$");
			if ns and not s_find(k, "\1", 1, true) then
				attr[ns .. "\1" .. local_name] = v;
			else
				attr[k] = v;
			end
		end
	end
	local element = new_stanza(data.name, attr);
	for _, child in ipairs(data) do
		if type(child) == "table" then
			element:add_direct_child(deserialize(child));
		elseif type(child) == "string" then
			element:add_direct_child(child);
		end
	end
	return element;
end

local function message(attr, body)
	local m = new_stanza("message", attr);
	if body then m:text_tag("body", body); end
	return m;
end

local function iq(attr)
	if not attr then error("iq stanzas require id and type attributes", 2); end
	if not attr.id then error("iq stanzas require an id attribute", 2); end
	if not attr.type then error("iq stanzas require a type attribute", 2); end
	return new_stanza("iq", attr);
end

local function presence(attr)
	return new_stanza("presence", attr);
end

local function reply(orig)
	if not is_stanza(orig) then
		error("bad argument to reply: expected stanza, got " .. type(orig), 2);
	end
	local a = orig.attr;
	local reply_type = a.type;
	if orig.name == "iq" then reply_type = "result"; end
	return new_stanza(orig.name, { to = a.from, from = a.to, id = a.id, type = reply_type });
end

-- RFC 6120 §8.3: appends an <error/> to this stanza and returns it. error_type may also be an
-- util.error object (type, condition, text, context.by, extra.uri for <gone/>, extra.tag or
-- extra.namespace+condition for an application-specific condition). Prosody has this from
-- 0.12's successors on; prosody-modules' SASL2 modules (Bind 2, inline SM failures) call it.
function stanza_mt:add_error(error_type, condition, text, by)
	local extra;
	if type(error_type) == "table" then
		local e = error_type;
		if type(e.extra) == "table" then extra = e.extra; end
		if type(e.context) == "table" and type(e.context.by) == "string" then by = e.context.by; end
		error_type, condition, text = e.type, e.condition, e.text;
	end
	if by == self.attr.from then by = nil; end
	self:tag("error", { type = error_type or "cancel", by = by }):tag(condition or "undefined-condition", { xmlns = NS_STANZAS });
	if extra and condition == "gone" and type(extra.uri) == "string" then
		self:text(extra.uri);
	end
	self:up();
	if text then self:text_tag("text", text, { xmlns = NS_STANZAS }); end
	if extra and is_stanza(extra.tag) then
		self:add_child(extra.tag);
	elseif extra and extra.namespace and extra.condition then
		self:tag(extra.condition, { xmlns = extra.namespace }):up();
	end
	return self:up();
end

local function error_reply(orig, error_type, condition, text, by)
	if not is_stanza(orig) then
		error("bad argument to error_reply: expected stanza, got " .. type(orig), 2);
	elseif orig.attr.type == "error" then
		error("bad argument to error_reply: got stanza of type error which must not be replied to", 2);
	end
	local r = reply(orig);
	r.attr.type = "error";
	r:add_error(error_type, condition, text, by);
	-- As Prosody's: the reply is left open inside <error/>, for application-specific conditions.
	r.last_add = { r[#r] };
	return r;
end

function stanza_mt:indent(level, indent)
	if #self == 0 or (#self == 1 and type(self[1]) == "string") then
		return self;
	end
	indent = indent or "\t";
	level = level or 1;
	local result = copy(self, true);
	for _, child in ipairs(self) do
		if type(child) == "string" then
			if s_find(child, "%S") then
				result:text("\n" .. s_rep(indent, level));
				result:text(child);
			end
		else
			result:text("\n" .. s_rep(indent, level));
			result:add_direct_child(child:indent(level + 1, indent));
		end
	end
	result:text("\n" .. s_rep(indent, level - 1));
	return result;
end

-- No terminal colours in a server log; the pretty forms are the plain ones.
local function pretty(s) return s; end
stanza_mt.pretty_print = stanza_mt.__tostring;
stanza_mt.pretty_top_tag = stanza_mt.top_tag;

return {
	stanza_mt = stanza_mt;
	-- LuaXmpp's lazy stanzas (above), for core/bridge.lua and the C# marshaller.
	_lazy = {
		mt = lazy_mt;
		live = lazy_live;
		materialize = materialize;
		set_filler = function(f) lazy_filler = f; end;
	};
	stanza = new_stanza;
	is_stanza = is_stanza;
	preserialize = preserialize;
	deserialize = deserialize;
	clone = clone;
	message = message;
	iq = iq;
	reply = reply;
	error_reply = error_reply;
	presence = presence;
	xml_escape = xml_escape;
	pretty_print = pretty;
};
