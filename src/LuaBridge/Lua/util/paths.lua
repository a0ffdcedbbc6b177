-- util.paths for LuaXmpp: path joining and resolution, with "/" or the platform separator.
local separator = package.config:sub(1, 1);

local paths = {};

-- Resolves path relative to parent unless it is absolute (or parent is nil).
function paths.resolve_relative_path(parent, path)
	if path then
		path = path:gsub("^%~", os.getenv("HOME") or "~");
		local absolute = path:sub(1, 1) == "/" or (separator == "\\" and (path:sub(2, 3) == ":\\" or path:sub(1, 2) == "\\\\"));
		if not absolute and parent then
			return parent .. separator .. path;
		end
	end
	return path;
end

-- A Lua pattern matching the shell glob (only * and ? are special).
function paths.glob_to_pattern(glob)
	return "^" .. glob:gsub("[%p]", function(c)
		if c == "*" then return ".*"; end
		if c == "?" then return "."; end
		return "%" .. c;
	end) .. "$";
end

function paths.join(...)
	return (table.concat({ ... }, separator));
end

function paths.complement_lua_path(installer_plugin_path)
	local lua_version = _VERSION:match(" (.+)$");
	local path_entry = installer_plugin_path .. separator .. "share" .. separator .. "lua" .. separator .. lua_version .. separator .. "?.lua";
	if not package.path:find(path_entry, 1, true) then
		package.path = package.path .. ";" .. path_entry;
	end
end

return paths;
