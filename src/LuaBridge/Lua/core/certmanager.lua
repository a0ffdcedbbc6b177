-- core.certmanager: finding certificates for hosts. TLS itself is native in LuaXmpp (the
-- listeners and STARTTLS use .NET's SslStream), so create_context returns no LuaSec context:
-- a Lua module that wants to drive TLS itself learns that and carries on without it.

local configmanager = require "core.configmanager";
local lfs = require "lfs";
local log = require "util.logger".init("certmanager");

local function is_file(path)
	return lfs.attributes(path, "mode") == "file";
end

local function resolve(base, path)
	if path:sub(1, 1) == "/" or not base then return path; end
	return base .. "/" .. path;
end

-- Certificate file layouts Prosody recognises for a name: name.crt + name.key,
-- name/fullchain.pem + name/privkey.pem (Let's Encrypt), name.pem.
local function candidates(dir, name)
	return {
		{ certificate = dir .. "/" .. name .. ".crt", key = dir .. "/" .. name .. ".key" },
		{ certificate = dir .. "/" .. name .. "/fullchain.pem", key = dir .. "/" .. name .. "/privkey.pem" },
		{ certificate = dir .. "/" .. name .. ".pem", key = dir .. "/" .. name .. ".pem" },
	};
end

local function find_cert(dir, name)
	if not dir or not name then return nil; end
	for _, pair in ipairs(candidates(dir, name)) do
		if is_file(pair.certificate) and is_file(pair.key) then return pair; end
	end
end

local function certificates_dir()
	local config_dir = (prosody.paths and prosody.paths.config) or ".";
	return resolve(config_dir, configmanager.get("*", "certificates") or "certs");
end

-- Index of a directory: name -> { [certificate path] = key path }, a few levels deep.
local function index_certs(dir, index, depth)
	index, depth = index or {}, depth or 3;
	if depth <= 0 or lfs.attributes(dir, "mode") ~= "directory" then return index; end
	for entry in lfs.dir(dir) do
		if entry:sub(1, 1) ~= "." then
			local full = dir .. "/" .. entry;
			local mode = lfs.attributes(full, "mode");
			local name = entry:match("^(.+)%.crt$");
			if mode == "file" and name and is_file(dir .. "/" .. name .. ".key") then
				index[name] = index[name] or {};
				index[name][full] = dir .. "/" .. name .. ".key";
			elseif mode == "directory" then
				if is_file(full .. "/fullchain.pem") and is_file(full .. "/privkey.pem") then
					index[entry] = index[entry] or {};
					index[entry][full .. "/fullchain.pem"] = full .. "/privkey.pem";
				end
				index_certs(full, index, depth - 1);
			end
		end
	end
	return index;
end

local function find_cert_in_index(index, host)
	if not host or not index then return nil; end
	local function pick(name)
		local pairs_for = index[name];
		if pairs_for then
			local cert, key = next(pairs_for);
			if cert then return { certificate = cert, key = key }; end
		end
	end
	return pick(host) or pick("*." .. (host:match("^[^.]+%.(.+)$") or ""));
end

local function find_host_cert(host)
	if not host then return nil; end
	local dir = certificates_dir();
	return find_cert(dir, host) or find_cert_in_index(index_certs(dir), host);
end

local function create_context(host, mode)
	log("debug", "No LuaSec context for %s (%s): TLS is handled natively", tostring(host), tostring(mode));
	return nil, "TLS contexts are managed natively by LuaXmpp", {};
end

return {
	create_context = create_context,
	reload_ssl_config = function() end,
	find_cert = find_cert,
	index_certs = index_certs,
	find_host_cert = find_host_cert,
	find_cert_in_index = find_cert_in_index,
	find_service_cert = function() return nil; end,
};
