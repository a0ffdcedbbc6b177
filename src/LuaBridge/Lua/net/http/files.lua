-- net.http.files: serve(opts) returns an HTTP handler that serves the files below a directory,
-- as mod_http_files and the invite/registration pages use it. opts is the directory, or a table
-- { path, mime_map, index_files, directory_index, cache_size, cache_max_file_size }.
-- Paths are decoded and normalised segment by segment and may never climb above the directory;
-- answers carry Last-Modified and an ETag and honour If-None-Match / If-Modified-Since
-- (RFC 9110 §13.1); small files are kept in a cache keyed by path and validated by the ETag.
local lfs = require "lfs";
local server = require "net.http.server";
local new_cache = require "util.cache".new;
local urldecode = require "util.http".urldecode;
local build_path = require "socket.url".build_path;

local open, os_date, tonumber, type = io.open, os.date, tonumber, type;

-- "/a/./b/../c%20d/" → "/a/c d/"; nil when it leaves the root or a segment holds a "/" or NUL.
local function clean_path(path)
	if not path then return nil; end
	local parts = {};
	for segment in path:gmatch("[^/]+") do
		segment = urldecode(segment);
		if segment:find("[/%z]") then return nil; end
		if segment == ".." then
			if #parts == 0 then return nil; end
			parts[#parts] = nil;
		elseif segment ~= "." then
			parts[#parts + 1] = segment;
		end
	end
	local out = "/" .. table.concat(parts, "/");
	if path:sub(-1) == "/" and #parts > 0 then out = out .. "/"; end
	return out;
end

local function serve(opts)
	if type(opts) ~= "table" then opts = { path = opts }; end
	local root = opts.path;
	local mime_map = opts.mime_map or { html = "text/html" };
	local index_files = opts.index_files or { "index.html", "index.htm" };
	local cache = new_cache(opts.cache_size or 256);
	local cache_limit = tonumber(opts.cache_max_file_size) or 1024;

	local function handler(event, path)
		local request, response = event.request, event.response;
		local clean = clean_path(path);
		if path and not clean then return 400; end
		local key = clean_path(request.path);
		local full = root .. (clean or "");
		local attr = lfs.attributes((full:gsub("/+$", "")));
		if not attr then return 404; end

		local modified = os_date("!%a, %d %b %Y %H:%M:%S GMT", attr.modification);
		local etag = ('"%x-%x-%x"'):format(attr.change or 0, attr.size or 0, attr.modification or 0);
		response.headers.last_modified, response.headers.etag = modified, etag;
		local if_none_match = request.headers.if_none_match;
		if if_none_match == etag or (not if_none_match and request.headers.if_modified_since == modified) then
			return 304;
		end

		local cached = cache:get(key);
		if cached and cached.etag == etag then
			response.headers.content_type = cached.content_type;
			return response:send(cached.data);
		end

		if attr.mode == "directory" and clean then
			if full:sub(-1) ~= "/" then
				local location = { is_absolute = true, is_directory = true };
				for segment in key:gmatch("[^/]+") do location[#location + 1] = segment; end
				response.headers.location = build_path(location);
				return 301;
			end
			for _, name in ipairs(index_files) do
				if lfs.attributes(full .. name, "mode") == "file" then return handler(event, clean .. name); end
			end
			local listing = opts.directory_index
				and server._events.fire_event("directory-index", { path = request.path, full_path = full });
			if not listing then return 403; end
			cache:set(key, { data = listing, content_type = mime_map.html, etag = etag });
			response.headers.content_type = mime_map.html;
			return response:send(listing);
		end

		local f = open(full, "rb");
		if not f then return 403; end
		local extension = full:match("%.([^./]+)$");
		local content_type = extension and mime_map[extension];
		response.headers.content_type = content_type;
		if attr.size > cache_limit then
			response.headers.content_length = ("%d"):format(attr.size);
			return response:send_file(f);
		end
		local data = f:read("a");
		f:close();
		cache:set(key, { data = data, content_type = content_type, etag = etag });
		return response:send(data);
	end

	return handler;
end

return { serve = serve };
