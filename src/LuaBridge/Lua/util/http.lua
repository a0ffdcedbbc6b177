-- util.http: URL and form encoding (RFC 3986 §2.1, application/x-www-form-urlencoded as HTML
-- defines it), HTTP token lists (RFC 9110 §5.6.1) and path normalisation.

-- Unreserved characters (RFC 3986 §2.3) stay; every other byte becomes %hh.
local function urlencode(s)
	if s == nil then return nil; end
	return (s:gsub("[^%w.~_-]", function(c) return ("%%%02x"):format(c:byte()); end));
end

local function urldecode(s)
	if s == nil then return nil; end
	return (s:gsub("%%(%x%x)", function(hh) return string.char(tonumber(hh, 16)); end));
end

local function form_part(s)
	return (urlencode(s):gsub("%%20", "+"));
end

-- form: an array of { name = , value = } (order kept) or a map of name -> value.
local function formencode(form)
	local parts = {};
	if form[1] ~= nil then
		for _, field in ipairs(form) do parts[#parts + 1] = form_part(field.name) .. "=" .. form_part(field.value); end
	else
		for name, value in pairs(form) do parts[#parts + 1] = form_part(name) .. "=" .. form_part(value); end
	end
	return table.concat(parts, "&");
end

-- Returns both an array of { name, value } and a name -> value map; a string without "=" is just decoded.
local function formdecode(s)
	if not s:find("=", 1, true) then return urldecode(s); end
	local out = {};
	for k, v in s:gmatch("([^=&]*)=([^&]*)") do
		k, v = urldecode((k:gsub("%+", " "))), urldecode((v:gsub("%+", " ")));
		out[#out + 1] = { name = k, value = v };
		out[k] = v;
	end
	return out;
end

-- Does a comma-separated header value contain the token (case-insensitive)?
local function contains_token(field, token)
	local wanted = token:lower();
	for item in field:gmatch("[^,]+") do
		if item:gsub("[ \t]", ""):lower() == wanted then return true; end
	end
	return false;
end

-- A leading "/" always; a trailing "/" exactly when is_dir.
local function normalize_path(path, is_dir)
	if is_dir then
		if path:sub(-1) ~= "/" then path = path .. "/"; end
	elseif path:sub(-1) == "/" then
		path = path:sub(1, -2);
	end
	if path:sub(1, 1) ~= "/" then path = "/" .. path; end
	return path;
end

return {
	urlencode = urlencode, urldecode = urldecode,
	formencode = formencode, formdecode = formdecode,
	contains_token = contains_token,
	normalize_path = normalize_path,
};
