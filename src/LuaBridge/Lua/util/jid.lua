-- util.jid for LuaXmpp: splitting, preparing and joining JIDs (RFC 7622), and
-- JID escaping (XEP-0106).
local encodings = require "util.encodings";
local nodeprep = encodings.stringprep.nodeprep;
local nameprep = encodings.stringprep.nameprep;
local resourceprep = encodings.stringprep.resourceprep;

local match, sub = string.match, string.sub;

-- Returns node, host, resource; all three nil when the string is not a well-formed JID
-- (empty parts, a second "@" before the "/", a trailing "/" ...).
local function split(jid)
	if jid == nil then return nil, nil, nil; end
	local node, after_node = match(jid, "^([^@/]+)@()");
	local host, after_host = match(jid, "^([^@/]+)()", after_node or 1);
	if host == nil then return nil, nil, nil; end
	local resource;
	if after_host <= #jid then
		resource = match(jid, "^/(.+)$", after_host);
		if resource == nil then return nil, nil, nil; end
	end
	return node, host, resource;
end

local function join(node, host, resource)
	if host == nil then return nil; end
	local s = host;
	if node ~= nil then s = node .. "@" .. s; end
	if resource ~= nil then s = s .. "/" .. resource; end
	return s;
end

local function bare(jid)
	local node, host = split(jid);
	return join(node, host, nil);
end

local function prepped_split(jid, strict)
	local node, host, resource = split(jid);
	if host == nil or host == "." then return nil; end
	if sub(host, -1) == "." then host = sub(host, 1, -2); end -- the root label
	host = nameprep(host, strict);
	if host == nil then return nil; end
	if node ~= nil then
		node = nodeprep(node, strict);
		if node == nil then return nil; end
	end
	if resource ~= nil then
		resource = resourceprep(resource, strict);
		if resource == nil then return nil; end
	end
	return node, host, resource;
end

local function prep(jid, strict)
	return join(prepped_split(jid, strict));
end

-- True when every part present in acl equals the corresponding part of jid.
local function compare(jid, acl)
	local n, h, r = split(jid);
	local an, ah, ar = split(acl);
	return (an == nil or an == n) and (ah == nil or ah == h) and (ar == nil or ar == r);
end

local function node(jid) local n = split(jid); return n; end
local function host(jid) local _, h = split(jid); return h; end
local function resource(jid) local _, _, r = split(jid); return r; end

-- XEP-0106 §3.1: ten characters become \xx; an existing \xx sequence that would read as an
-- escape gets its backslash escaped so that unescaping restores it.
local escapes = {
	[" "] = "\\20", ['"'] = "\\22", ["&"] = "\\26", ["'"] = "\\27", ["/"] = "\\2f",
	[":"] = "\\3a", ["<"] = "\\3c", [">"] = "\\3e", ["@"] = "\\40", ["\\"] = "\\5c",
};
local unescapes, escaped_sequences = {}, {};
for char, seq in pairs(escapes) do
	unescapes[seq] = char;
	escaped_sequences[seq] = "\\5c" .. sub(seq, 2);
end

local function escape(s)
	if s == nil then return nil; end
	return (s:gsub("\\%x%x", escaped_sequences):gsub("[ \"&'/:<>@]", escapes));
end

local function unescape(s)
	if s == nil then return nil; end
	return (s:gsub("\\%x%x", unescapes));
end

return {
	split = split;
	bare = bare;
	prepped_split = prepped_split;
	join = join;
	prep = prep;
	compare = compare;
	node = node;
	host = host;
	resource = resource;
	escape = escape;
	unescape = unescape;
};
