namespace LuaXmpp.LuaBridge.Configuration;

/// <summary>
/// The Lua half of the config evaluator. It reproduces the environment Prosody 0.12's
/// configmanager gives a config file (VirtualHost, Component, Include, ENV_*, options landing in
/// the current section) and collects the result into plain tables that C# then converts.
/// </summary>
/// <remarks>
/// Natives (file reads, directory listing, nameprep, getenv) never raise: they return
/// <c>nil, message</c> and the functions here call <c>error()</c>, so no Lua error unwinds
/// through .NET frames. The config chunks see <see cref="SafeGlobals"/>: what Prosody 0.12's
/// config environment reaches through its _G (base library, require and package, string,
/// table, math, io, os, utf8, coroutine); the driver keeps debug.getinfo to itself to locate errors.
/// </remarks>
internal static class ConfigScript
{
    /// <summary>Global names a config file may use.</summary>
    public static readonly string[] SafeGlobals =
    [
        "assert", "error", "ipairs", "next", "pairs", "pcall", "print", "rawequal", "rawget", "rawlen",
        "rawset", "select", "setmetatable", "getmetatable", "tonumber", "tostring", "type", "xpcall",
        "_VERSION", "string", "table", "math", "require", "package", "io", "os", "utf8", "coroutine",
        "load", "loadfile", "dofile", "collectgarbage",
    ];

    /// <summary>
    /// Chunk arguments: natives table, main text, main chunk name, main full path, main directory.
    /// Returns a result table: on success <c>{ ok = true, sections, order, warnings }</c>, on a
    /// config error <c>{ ok = false, file, line, message }</c>.
    /// </summary>
    public const string Driver = """
local native, main_text, main_name, main_path, main_dir = ...
local read_file, list_dir, nameprep, getenv = native.read_file, native.list_dir, native.nameprep, native.getenv
local getinfo = debug.getinfo
-- Chunks made by load() or require() inside a config see this global table: no debug library there.
debug = nil
local type, pairs, ipairs, next, error, tostring, select = type, pairs, ipairs, next, error, tostring, select
local load, xpcall, setmetatable, rawset = load, xpcall, setmetatable, rawset
local format, match, gsub, sub, find, gmatch = string.format, string.match, string.gsub, string.sub, string.find, string.gmatch
local insert, sort = table.insert, table.sort

-- Config chunks get these (Prosody's config sees its _G).
local safe = {}
for _, name in ipairs(native.safe_globals) do safe[name] = _G[name] end
safe._G = safe

local sections = { ["*"] = {} } -- section name ("*" is global) -> options
local order = {}                -- host names in the order they were first declared
local warnings = {}
local chunk_paths = {}          -- chunk display name -> full path
local chunk_count = 0

local function set(host, key, value)
	local options = sections[host]
	if not options then
		options = {}
		sections[host] = options
		order[#order + 1] = host
	end
	options[key] = value
end

-- Like util.paths.resolve_relative_path: absolute paths stay, "./" is dropped.
local function resolve(dir, path)
	path = gsub(path, "^%./+", "")
	if sub(path, 1, 1) == "/" then return path end
	return (gsub(dir, "/+$", "")) .. "/" .. path
end

local function directory_of(path)
	local dir = match(path, "^(.*)/[^/]*$")
	if dir == nil then return "." end
	if dir == "" then return "/" end
	return dir
end

local function glob_pattern(glob)
	return "^" .. gsub(glob, "[%p]", function (c)
		if c == "*" then return ".*" elseif c == "?" then return "." end
		return "%" .. c
	end) .. "$"
end

-- Short, unique chunk names: Lua truncates long ones in messages, and we map them back to paths.
local function register_chunk(path, display)
	if display == nil then
		display = path
		if sub(path, 1, #main_dir + 1) == main_dir .. "/" then display = sub(path, #main_dir + 2) end
		if #display > 50 then display = match(path, "([^/]*)$") end
	end
	local base = display
	while chunk_paths[display] ~= nil and chunk_paths[display] ~= path do
		chunk_count = chunk_count + 1
		display = base .. "#" .. chunk_count
	end
	chunk_paths[display] = path
	return display
end

local function line_in(display)
	for level = 2, 200 do
		local info = getinfo(level, "Sl")
		if info == nil then return 0 end
		if info.source == "@" .. display then return info.currentline end
	end
	return 0
end

local function read_text(kind, dir, file)
	if type(file) ~= "string" then return nil, kind .. " expects a file name, got " .. type(file) end
	local path = resolve(dir, file)
	local text, err = read_file(path)
	if text == nil then return nil, format("Error reading %s %s: %s", kind, path, err) end
	return text
end

local evaluate

-- Returns nil, message on failure; errors inside the included file propagate as they are, since
-- they already name that file and line.
local function include(dir, file)
	if type(file) ~= "string" then return nil, "Include expects a file name, got " .. type(file) end
	if find(file, "[*?]") then
		local prefix, glob = match(file, "^(.-)([^/]+)$")
		local where = prefix == "" and dir or resolve(dir, prefix)
		local names, err = list_dir(where)
		if names == nil then
			return nil, format("Error expanding wildcard pattern in Include %q: %s", file, err)
		end
		local pattern = glob_pattern(glob)
		for _, name in ipairs(names) do
			if sub(name, 1, 1) ~= "." and match(name, pattern) then
				local ok, message = include(dir, resolve(where, name))
				if not ok then return nil, message end
			end
		end
		return true
	end
	local path = resolve(dir, file)
	local text, err = read_file(path)
	if text == nil then return nil, format("Error loading included %s: %s", path, err) end
	evaluate(text, path, nil, directory_of(path))
	return true
end

-- Runs one file in its own environment, as configmanager's parser.load does for the main file
-- and for each Include: every file starts in the global section.
function evaluate(text, path, display, dir)
	display = register_chunk(path, display)
	local current = "*"
	local seen = {}
	local env = {}

	local function file_text(kind, file)
		local text, err = read_text(kind, dir, file)
		if text == nil then error(err, 3) end
		return text
	end

	function env.VirtualHost(name)
		if type(name) ~= "string" then error("Host must have a name", 2) end
		local prepped = nameprep(name)
		if prepped == nil then error(format("Name of Host %q contains forbidden characters", name), 2) end
		name = prepped
		local existing = sections[name]
		if existing and existing.component_module ~= nil then
			error(format("Host %q clashes with previously defined Component %q, for services use a sub-domain like conference.%s",
				name, name, name), 2)
		end
		current = name
		set(name, "defined", true)
		return function (options)
			current = "*"
			if type(options) == "string" then
				error(format("VirtualHost entries do not accept a module name (module '%s' provided for host '%s')", options, name), 2)
			elseif type(options) ~= "table" then
				error("Invalid syntax following VirtualHost, expected options but received a " .. type(options), 2)
			end
			for key, value in pairs(options) do set(name, key, value) end
		end
	end
	env.Host, env.host = env.VirtualHost, env.VirtualHost

	function env.Component(name)
		if type(name) ~= "string" then error("Component must have a name", 2) end
		local prepped = nameprep(name)
		if prepped == nil then error(format("Name of Component %q contains forbidden characters", name), 2) end
		name = prepped
		local existing = sections[name]
		if existing and existing.defined and existing.component_module == nil then
			error(format("Component %q clashes with previously defined VirtualHost %q, for services use a sub-domain like conference.%s",
				name, name, name), 2)
		end
		set(name, "component_module", "component")
		-- Components do not load the global modules unless told to.
		set(name, "load_global_modules", false)
		current = name
		-- Returns an error message rather than raising it: callers raise at their caller's line.
		local function apply(options)
			current = "*"
			if type(options) ~= "table" then
				return "Invalid syntax following Component, expected options but received a " .. type(options)
			end
			for key, value in pairs(options) do set(name, key, value) end
		end
		return function (module)
			if type(module) == "string" then
				set(name, "component_module", module)
				return function (options)
					local err = apply(options)
					if err then error(err, 2) end
				end
			end
			local err = apply(module)
			if err then error(err, 2) end
		end
	end
	env.component = env.Component

	function env.Include(file)
		local ok, message = include(dir, file)
		if not ok then error(message, 2) end
	end
	env.include = env.Include

	-- Runs a Lua file (relative to this file's directory) in the global environment.
	function env.RunScript(file)
		if type(file) ~= "string" then error("RunScript expects a file name, got " .. type(file), 2) end
		local chunk, err = loadfile(resolve(dir, file), "t", safe)
		if chunk == nil then error(err, 2) end
		return chunk()
	end

	-- Prosody 0.13's Credential: a file systemd passes with LoadCredential= (systemd.exec(5)).
	function env.Credential(name)
		if type(name) ~= "string" then error("Credential expects a name, got " .. type(name), 2) end
		local credentials = getenv("CREDENTIALS_DIRECTORY")
		if credentials == nil then
			error("Credential() needs the CREDENTIALS_DIRECTORY environment variable (set by systemd's LoadCredential=)", 2)
		end
		local text, err = read_text("Credential", credentials, name)
		if text == nil then error(err, 2) end
		return (gsub(text, "%s+$", ""))
	end

	-- Prosody 0.13's file helpers, relative to this file's directory.
	function env.FileContents(file, trim)
		local text = file_text("FileContents", file)
		if trim ~= false then text = gsub(text, "%s+$", "") end
		return text
	end
	function env.FileLine(file)
		return match(file_text("FileLine", file), "^([^\r\n]*)")
	end
	function env.FileLines(file)
		local lines = {}
		for line in gmatch(file_text("FileLines", file), "([^\r\n]*)\r?\n?") do
			lines[#lines + 1] = line
		end
		-- A blank last line (text ending in two newlines) is not an entry.
		if lines[#lines] == "" then lines[#lines] = nil end
		return lines
	end

	setmetatable(env, {
		__index = function (_, key)
			if type(key) == "string" and sub(key, 1, 4) == "ENV_" then return getenv(sub(key, 5)) end
			local value = safe[key]
			if value ~= nil then return value end
			-- An option set earlier, in this section or else the global one.
			local options = sections[current]
			if options then value = options[key] end
			if value == nil then value = sections["*"][key] end
			return value
		end,
		__newindex = function (_, key, value)
			local option_path = current .. "/" .. tostring(key)
			if seen[option_path] then
				warnings[#warnings + 1] = format("%s:%d: Duplicate option '%s'", path, line_in(display), tostring(key))
			end
			seen[option_path] = true
			set(current, key, value)
		end,
	})

	local chunk, err = load(text, "@" .. display, "t", env)
	if chunk == nil then error(err, 0) end
	chunk()
end

-- Splits an error into file, line and message; errors without a position take the innermost
-- config frame's.
local function locate(err)
	local message = type(err) == "string" and err or tostring(err)
	local best
	for display in pairs(chunk_paths) do
		if sub(message, 1, #display + 1) == display .. ":" and (best == nil or #display > #best) then
			local line = match(message, "^(%d+):", #display + 2)
			if line then best = display end
		end
	end
	if best then
		local line, rest = match(message, "^(%d+): ?(.*)$", #best + 2)
		return { ok = false, file = chunk_paths[best], line = tonumber(line), message = rest }
	end
	for level = 2, 200 do
		local info = getinfo(level, "Sl")
		if info == nil then break end
		local source = info.source
		if sub(source, 1, 1) == "@" and chunk_paths[sub(source, 2)] and info.currentline > 0 then
			return { ok = false, file = chunk_paths[sub(source, 2)], line = info.currentline, message = message }
		end
	end
	return { ok = false, file = main_path, message = message }
end

local _, result = xpcall(function ()
	evaluate(main_text, main_path, main_name, main_dir)
	return { ok = true, sections = sections, order = order, warnings = warnings }
end, locate)
return result
""";
}
