-- util.rsm for LuaXmpp: XEP-0059 Result Set Management <set/> elements as Lua tables.
--   max, index, count: integers; after, last: strings; before: string, or true when empty
--   (request the last page); first: { index = n, [1] = id } when parsed.
local st = require "util.stanza";

local NS_RSM = "http://jabber.org/protocol/rsm";

local function integer_text(tag) return tonumber((tag:get_text())); end
local function plain_text(tag) return tag:get_text(); end

local readers = {
	after = plain_text;
	last = plain_text;
	max = integer_text;
	index = integer_text;
	count = integer_text;
	before = function(tag)
		local text = tag:get_text();
		if text == "" then return true; end
		return text;
	end;
	first = function(tag)
		return { index = tonumber(tag.attr.index), tag:get_text() };
	end;
};

local function int(n) return ("%d"):format(n); end

local writers = {
	max = function(set, v) set:text_tag("max", int(v)); end;
	index = function(set, v) set:text_tag("index", int(v)); end;
	count = function(set, v) set:text_tag("count", int(v)); end;
	before = function(set, v)
		if v == true then set:tag("before"):up(); else set:text_tag("before", v); end
	end;
	first = function(set, v)
		if type(v) == "table" then
			set:tag("first", { index = v.index and int(v.index) }):text(v[1]):up();
		else
			set:text_tag("first", v);
		end
	end;
};

local function parse(set)
	local result = {};
	for tag in set:childtags() do
		local reader = readers[tag.name];
		if reader then result[tag.name] = reader(tag); end
	end
	return result;
end

local function generate(t)
	local set = st.stanza("set", { xmlns = NS_RSM });
	for name, value in pairs(t) do
		if readers[name] then
			local writer = writers[name];
			if writer then writer(set, value); else set:text_tag(name, value); end
		end
	end
	return set;
end

-- The RSM request in a stanza's payload, or nil when there is none (or it is empty).
local function get(element)
	local set = element:get_child("set", NS_RSM);
	if set and #set.tags > 0 then return parse(set); end
	return nil;
end

return { parse = parse, generate = generate, get = get };
