-- util.envload for LuaXmpp: loading text chunks with a given environment (Lua 5.4 load).
local function envload(code, source, env)
	return load(code, source, "t", env);
end

local function envloadfile(path, env)
	local file, err, errno = io.open(path);
	if not file then return nil, err, errno; end
	local text = file:read("a");
	file:close();
	return load(text, "@" .. path, "t", env);
end

return { envload = envload, envloadfile = envloadfile };
