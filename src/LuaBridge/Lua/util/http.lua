-- util.http: URL and form encoding helpers modules use (RFC 3986 percent-encoding,
-- application/x-www-form-urlencoded per the WHATWG URL standard), header token lists and path
-- normalisation, with Prosody 0.12's function names.
local M = {};

local s_format, s_byte, s_char, tonumber = string.format, string.byte, string.char, tonumber;

local function encode_byte(c) return s_format("%%%02x", s_byte(c)); end

-- Everything but RFC 3986's unreserved characters is percent-encoded.
function M.urlencode(s)
	return s and (s:gsub("[^a-zA-Z0-9.~_-]", encode_byte));
end

function M.urldecode(s)
	return s and (s:gsub("%%(%x%x)", function(h) return s_char(tonumber(h, 16)); end));
end

local function form_encode(s)
	return (s:gsub("[^a-zA-Z0-9*._-]", encode_byte):gsub("%%20", "+"));
end

-- { { name = n, value = v }, ... } (ordered) or { name = value } → "a=1&b=2".
function M.formencode(form)
	local out = {};
	if form[1] then
		for _, field in ipairs(form) do
			out[#out + 1] = form_encode(field.name) .. "=" .. form_encode(field.value);
		end
	else
		for name, value in pairs(form) do
			out[#out + 1] = form_encode(name) .. "=" .. form_encode(value);
		end
	end
	return table.concat(out, "&");
end

-- "a=1&b=2" → a table usable both ways: t.a == "1" and t[1] == { name = "a", value = "1" }.
function M.formdecode(s)
	if not s:find("=", 1, true) then return M.urldecode((s:gsub("%+", " "))); end
	local out = {};
	for pair in s:gmatch("[^&]+") do
		local name, value = pair:match("^([^=]*)=?(.*)$");
		name = M.urldecode((name:gsub("%+", " ")));
		value = M.urldecode((value:gsub("%+", " ")));
		out[#out + 1] = { name = name, value = value };
		out[name] = value;
	end
	return out;
end

-- Whether a comma-separated header value (Connection: keep-alive, Upgrade) lists the token.
function M.contains_token(field, token)
	field = "," .. field:gsub("[ \t]", ""):lower() .. ",";
	return field:find("," .. token:lower() .. ",", 1, true) ~= nil;
end

-- "/a/b/" ↔ "/a/b": a leading slash always, a trailing one only when asked.
function M.normalize_path(path, is_dir)
	if is_dir then
		if path:sub(-1) ~= "/" then path = path .. "/"; end
	elseif path:sub(-1) == "/" then
		path = path:sub(1, -2);
	end
	if path:sub(1, 1) ~= "/" then path = "/" .. path; end
	return path;
end

return M;
