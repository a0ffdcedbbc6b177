-- socket.url for the bridge: the URL helpers modules take from LuaSocket (escape, unescape,
-- parse, build, absolute), per RFC 3986. Served as socket.url when LuaSocket is absent.
local M = {};

function M.escape(s)
	return (tostring(s):gsub("[^%w%-_%.~]", function(c) return ("%%%02X"):format(c:byte()); end));
end

function M.unescape(s)
	return (tostring(s):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)); end));
end

-- parse(url, defaults) → { scheme, authority, userinfo, user, password, host, port, path, params, query, fragment }
function M.parse(url, default)
	local parsed = {};
	for k, v in pairs(default or {}) do parsed[k] = v; end
	if not url or url == "" then return nil, "invalid url"; end
	url = url:gsub("#(.*)$", function(f) parsed.fragment = f; return ""; end);
	url = url:gsub("^([%w][%w%+%-%.]*)%:", function(s) parsed.scheme = s:lower(); return ""; end);
	url = url:gsub("^//([^/]*)", function(a) parsed.authority = a; return ""; end);
	url = url:gsub("%?(.*)", function(q) parsed.query = q; return ""; end);
	url = url:gsub("%;(.*)", function(p) parsed.params = p; return ""; end);
	if url ~= "" then parsed.path = url; end
	local authority = parsed.authority;
	if not authority then return parsed; end
	authority = authority:gsub("^([^@]*)@", function(u) parsed.userinfo = u; return ""; end);
	authority = authority:gsub(":(%d*)$", function(p) if p ~= "" then parsed.port = p; end return ""; end);
	if authority ~= "" then parsed.host = authority:match("^%[(.+)%]$") or authority; end
	local userinfo = parsed.userinfo;
	if userinfo then
		userinfo = userinfo:gsub(":([^:]*)$", function(p) parsed.password = p; return ""; end);
		parsed.user = userinfo;
	end
	return parsed;
end

function M.build(parsed)
	local url = parsed.path or "";
	if parsed.params then url = url .. ";" .. parsed.params; end
	if parsed.query then url = url .. "?" .. parsed.query; end
	local authority = parsed.authority;
	if parsed.host then
		authority = parsed.host;
		if authority:find(":", 1, true) then authority = "[" .. authority .. "]"; end
		if parsed.port then authority = authority .. ":" .. parsed.port; end
		local userinfo = parsed.userinfo;
		if parsed.user then
			userinfo = parsed.user;
			if parsed.password then userinfo = userinfo .. ":" .. parsed.password; end
		end
		if userinfo then authority = userinfo .. "@" .. authority; end
	end
	if authority then url = "//" .. authority .. url; end
	if parsed.scheme then url = parsed.scheme .. ":" .. url; end
	if parsed.fragment then url = url .. "#" .. parsed.fragment; end
	return url;
end

-- parse_path("/a/b%20c/") → { "a", "b c", is_absolute = 1, is_directory = 1 }: the segments,
-- unescaped, with flags for a leading and a trailing slash (LuaSocket's shape).
function M.parse_path(path)
	local parsed = {};
	path = path or "";
	for segment in path:gmatch("([^/]+)") do parsed[#parsed + 1] = M.unescape(segment); end
	if path:sub(1, 1) == "/" then parsed.is_absolute = 1; end
	if path ~= "" and path:sub(-1) == "/" then parsed.is_directory = 1; end
	return parsed;
end

-- build_path(segments, unsafe): the inverse; each segment escaped unless unsafe is true.
-- RFC 3986 §3.3 pchar: unreserved, sub-delims, ":" and "@" stay as they are.
function M.build_path(parsed, unsafe)
	local out = {};
	for i = 1, #parsed do
		local segment = parsed[i];
		if not unsafe then
			segment = tostring(segment):gsub("[^%w%-%._~!%$&'%(%)%*%+,;=:@]", function(c) return ("%%%02X"):format(c:byte()); end);
		end
		out[i] = segment;
	end
	local path = table.concat(out, "/");
	if #parsed > 0 then
		if parsed.is_absolute then path = "/" .. path; end
		if parsed.is_directory then path = path .. "/"; end
	elseif parsed.is_absolute or parsed.is_directory then
		path = "/";
	end
	return path;
end

-- absolute(base, relative): relative resolved against base (RFC 3986 §5.2, common cases).
function M.absolute(base, relative)
	local b = type(base) == "table" and base or M.parse(base);
	local r = M.parse(relative) or {};
	if r.scheme then return relative; end
	if r.authority then return M.build({ scheme = b.scheme, authority = r.authority, path = r.path, query = r.query, fragment = r.fragment }); end
	local path = r.path or b.path or "";
	if r.path and r.path:sub(1, 1) ~= "/" then
		path = (b.path or "/"):gsub("[^/]*$", "") .. r.path;
	end
	return M.build({ scheme = b.scheme, authority = b.authority, path = path,
		query = r.query or (not r.path and b.query) or nil, fragment = r.fragment });
end

return M;
