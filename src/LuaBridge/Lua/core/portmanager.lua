-- core.portmanager for the bridge: the network services modules declare with
-- module:provides("net", { name, listener, default_port(s), private, multiplex, ... }) and the
-- ports they listen on, from the configuration as in Prosody 0.12 (<prefix>_ports and
-- <prefix>_interfaces, the prefix being the service's config_prefix or its name; then
-- local_interfaces for private services, interfaces, and every address).
-- The services the C# core runs itself (s2s, http, component) are not listed here; c2s is,
-- only so that mod_net_multiplex can pass client streams to it.
local config = require "core.configmanager";
local multitable = require "util.multitable";
local set = require "util.set";
local server = require "net.server";
local logger = require "luaxmpp.log";
local N_net = require "luaxmpp.native.net";

local prosody = prosody;
local type, tonumber, tostring, ipairs, t_insert, t_remove, t_concat = type, tonumber, tostring, ipairs, table.insert, table.remove, table.concat;

local function log(level, fmt, ...)
	logger.write("portmanager", level, fmt:format(...));
end

local default_interfaces = { "*", "::" };
local default_local_interfaces = { "127.0.0.1", "::1" };

-- name → list of service descriptions (the first one is the active one)
local services = setmetatable({}, { __index = function(t, name)
	local list = {};
	t[name] = list;
	return list;
end });

-- (name, interface, port) → { server = ..., service = ... }
local active_services = multitable.new();

local function listify(value)
	if type(value) ~= "table" then return { value }; end
	return value;
end

local function friendly(err, port)
	if tostring(err):match("in use") then
		return ("port %d is in use by another application"):format(port);
	end
	return tostring(err);
end

local function activate(name)
	local info = services[name][1];
	if not info then return nil, "Unknown service: " .. name; end
	local listener = info.listener;
	local prefix = (info.config_prefix or name) .. "_";
	if prefix == "_" then prefix = ""; end

	local interfaces = config.get("*", prefix .. "interfaces") or config.get("*", prefix .. "interface")
		or (info.private and (config.get("*", "local_interfaces") or default_local_interfaces))
		or config.get("*", "interfaces") or config.get("*", "interface")
		or listener.default_interface or default_interfaces;
	local ports = config.get("*", prefix .. "ports") or info.default_ports
		or { info.default_port or listener.default_port };
	interfaces, ports = set.new(listify(interfaces)), set.new(listify(ports));
	-- Ours, not Prosody's: bytes a connection may send while the service writes nothing back
	-- (net.server closes it beyond that). Private services (the admin console) get 4 KiB unless
	-- set; 0 turns it off.
	local input_limit = tonumber(config.get("*", prefix .. "unanswered_input_limit")) or (info.private and 4096) or nil;
	if input_limit == 0 then input_limit = nil; end

	local opened = {};
	for interface in interfaces do
		for port in ports do
			local number = tonumber(port);
			if not number then
				log("error", "Invalid port number specified for service '%s': %s", tostring(info.name), tostring(port));
			elseif #active_services:search(nil, interface, number) > 0 then
				log("error", "Multiple services configured to listen on the same port ([%s]:%d): %s, %s", interface, number,
					tostring(active_services:search(nil, interface, number)[1][1].service.name), name);
			elseif info.encryption == "ssl" then
				log("error", "Error binding encrypted port for %s: direct TLS is not available on module listeners here", tostring(info.name));
			else
				local handle, err = server.listen(interface, number, listener, {
					read_size = listener.default_mode, sni_hosts = {}, input_limit = input_limit,
				});
				if not handle then
					log("error", "Failed to open server port %d on %s, %s", number, interface, friendly(err, number));
				else
					t_insert(opened, "[" .. interface .. "]:" .. number);
					active_services:add(name, interface, number, { server = handle, service = info });
				end
			end
		end
	end
	log("info", "Activated service '%s' on %s", name, #opened == 0 and "no ports" or t_concat(opened, ", "));
	return true;
end

local function close(interface, port)
	local found = active_services:search(nil, interface, port);
	local entry = found and found[1] and found[1][1];
	if not entry then return false, "port-not-open"; end
	entry.server:close();
	active_services:remove(entry.service.name, interface, port);
	log("debug", "Removed listening service %s from [%s]:%d", tostring(entry.service.name), interface, port);
	return true;
end

local function deactivate(name, info)
	for _, interface, port, _, entry in active_services:iter(name or info and info.name, nil, nil, nil) do
		if info == nil or entry.service == info then close(interface, port); end
	end
	log("info", "Deactivated service '%s'", tostring(name or info.name));
end

local function register_service(name, info)
	t_insert(services[name], info);
	if not info.native and not active_services:get(name) and prosody.process_type == "prosody" then
		local ok, err = activate(name);
		if not ok then log("error", "Failed to activate service '%s': %s", name, tostring(err)); end
	end
	prosody.events.fire_event("service-added", { name = name, service = info });
	return true;
end

local function unregister_service(name, info)
	local list = services[name];
	for i = #list, 1, -1 do
		if list[i] == info then t_remove(list, i); end
	end
	deactivate(nil, info);
	if #list > 0 then activate(name); end
	prosody.events.fire_event("service-removed", { name = name, service = info });
end

local function get_service_at(interface, port)
	local found = active_services:search(nil, interface, port);
	local entry = found and found[1] and found[1][1];
	if not entry then return nil, "not-found"; end
	return entry.service, entry.server;
end

-- The C# core runs c2s itself; this description (never activated here) lets
-- mod_net_multiplex recognise a client stream (a stream header in the jabber:client
-- namespace) and hand the connection, with what was read, to the native c2s listener.
local native_c2s = { name = "c2s", native = true, listener = {},
	multiplex = { pattern = "^<.-%sxmlns%s*=%s*['\"]jabber:client['\"]" } };
function native_c2s.listener.onincoming(conn, data)
	local ok, err = N_net.net_handoff(conn.id, "c2s", data);
	if not ok then
		log("warn", "Could not hand %s to the c2s listener: %s", tostring(conn), tostring(err));
		conn:close();
		return;
	end
	conn:_handed_off();
end
t_insert(services.c2s, native_c2s);

prosody.events.add_handler("item-added/net-provider", function(event)
	register_service(event.item.name, event.item);
end);
prosody.events.add_handler("item-removed/net-provider", function(event)
	unregister_service(event.item.name, event.item);
end);

return {
	activate = activate;
	deactivate = deactivate;
	register_service = register_service;
	unregister_service = unregister_service;
	close = close;
	get_service_at = get_service_at;
	get_service = function(name) return (rawget(services, name) or {})[1]; end;
	get_active_services = function() return active_services; end;
	get_registered_services = function() return services; end;
	-- TLS certificates per host belong to the C# listeners here.
	add_sni_host = function() end;
};
