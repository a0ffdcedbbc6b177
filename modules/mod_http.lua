-- mod_http for LuaXmpp: Prosody 0.12's HTTP module API over the native listener.
--
-- Modules publish routes with module:provides("http", { route = { ["GET /path"] = handler } })
-- (usually after module:depends("http")); each route becomes a net.http.server event named
-- "METHOD host/base/path", where base is the app's path (http_paths, else "/" .. app name).
-- A route ending in "/*" matches everything below it and its handler gets the rest of the path
-- as a second argument. Ports, TLS and body limits are the native listener's (http_ports,
-- https_ports, http_interfaces, https_interfaces, http_max_content_size); this module asks
-- for it to be started, computes module:http_url(), applies trusted_proxies and CORS.
module:set_global();

local http_listener = require "luaxmpp.http";
local server = require "net.http.server";
local moduleapi = require "core.moduleapi";
local url = require "socket.url";
local normalize_path = require "util.http".normalize_path;
local set = require "util.set";

http_listener.enable();

server.set_default_host(module:get_option_string("http_default_host"));

local function get_base_path(host_module, app_name, default_path)
	local path = host_module:get_option("http_paths", {})[app_name]
		or module:get_option("http_paths", {})[app_name]
		or default_path;
	return (normalize_path(path):gsub("%$(%w+)", { host = host_module.host }));
end

local default_ports = { http = 5280, https = 5281 };

local function first_port(service)
	local ports = module:get_option(service .. "_ports");
	if ports == nil then return default_ports[service]; end
	if type(ports) ~= "table" then return tonumber(ports); end
	return tonumber(ports[1]);
end

-- The URL an app is reached at: http_external_url when set (behind a reverse proxy), else our
-- own listener, HTTPS first, with http_host or the module's host as the name.
function moduleapi.http_url(mod, app_name, default_path)
	app_name = app_name or (mod.name:gsub("^http_", ""));
	local base = get_base_path(mod, app_name, default_path or ("/" .. app_name));
	local external = mod:get_option_string("http_external_url");
	if external then
		local parsed = url.parse(external);
		if parsed and parsed.host then
			parsed.path = normalize_path(parsed.path or "/", true) .. base:sub(2);
			if tonumber(parsed.port) == default_ports[parsed.scheme] and parsed.scheme then parsed.port = nil; end
			parsed.authority = nil;
			return url.build(parsed);
		end
	end
	local scheme, port = "https", first_port("https");
	if not port then scheme, port = "http", first_port("http"); end
	if not port then return "http://disabled.invalid/"; end
	local host = mod:get_option_string("http_host",
		mod.global and mod:get_option_string("http_default_host", "localhost") or mod.host);
	if default_ports[scheme] == port then port = nil; end
	return url.build({ scheme = scheme, host = host, port = port and tostring(port), path = base });
end

-- "METHOD /path" → the event name on this host; nil for a key that is not a route.
local function event_name_for(host, app_path, key)
	local method, path = key:match("^(%S+)%s+(.+)$");
	if not method then method, path = key, ""; end
	if method:sub(1, 1) == "/" then return nil; end
	if app_path == "/" and path:sub(1, 1) == "/" then app_path = ""; end
	return method:upper() .. " " .. (host == "*" and "" or host) .. app_path .. path;
end

local function redirect_to_dir(event)
	local location = event.request.path .. "/";
	if event.request.url.query then location = location .. "?" .. event.request.url.query; end
	event.response.headers.location = location;
	return 301;
end

-- CORS (Prosody's options): methods and headers grow with each app's routes.
local cors_overrides = module:get_option("http_cors_override", {});
local opt_methods = module:get_option_set("access_control_allow_methods", { "GET", "OPTIONS" });
local opt_headers = module:get_option_set("access_control_allow_headers", { "Content-Type" });
local opt_origins = module:get_option_set("access_control_allow_origins");
local opt_credentials = module:get_option_boolean("access_control_allow_credentials", false);
local opt_max_age = module:get_option_number("access_control_max_age", 2 * 60 * 60);
local opt_cors_default = module:get_option_boolean("http_default_cors_enabled", true);

local function cors_for(item)
	local cors = cors_overrides[item.name] or item.cors;
	local methods, headers, credentials, origins = opt_methods, opt_headers, opt_credentials, nil;
	if opt_origins and not (opt_origins:empty() or opt_origins:contains("*")) then origins = opt_origins; end
	if cors == nil then
		if not opt_cors_default then return nil; end
	elseif cors.enabled == false then
		return nil;
	else
		if cors.credentials ~= nil then credentials = cors.credentials; end
		for header, enabled in pairs(cors.headers or {}) do
			if enabled then headers = headers + set.new({ header }); else headers = headers - set.new({ header }); end
		end
		if cors.origins then
			origins = (cors.origins == "*" or cors.origins[1] == "*") and nil or set.new(cors.origins);
		end
	end
	local state = { methods = methods, headers = headers, credentials = credentials, origins = origins };
	state.apply = function(event)
		local request, response = event.request, event.response;
		local origin = request.headers.origin;
		if state.origins and not state.origins:contains(origin) then return; end
		response.headers.access_control_allow_methods = tostring(state.methods);
		response.headers.access_control_allow_headers = tostring(state.headers);
		response.headers.access_control_max_age = tostring(opt_max_age);
		response.headers.access_control_allow_origin = origin or "*";
		if state.credentials then response.headers.access_control_allow_credentials = "true"; end
	end;
	state.options = function(event) state.apply(event); return ""; end;
	return state;
end

function module.add_host(module) -- luacheck: ignore 431/module
	local host = module.host;
	if host ~= "*" then host = module:get_option_string("http_host", host); end
	local apps = {};
	module.environment.apps = apps;

	local function hook(name, handler, priority)
		module:hook_object_event(server, name, handler, priority);
	end

	local function app_added(event)
		local item = event.item;
		local app_name = item.name;
		if not app_name then
			module:log("error", "HTTP app has no 'name'; use module:provides('http', app)");
			return;
		end
		if not item.route then
			module:log("error", "HTTP app %q provides no 'route'", app_name);
			return;
		end
		local app_path = get_base_path(module, app_name, item.default_path or ("/" .. app_name));
		local cors = cors_for(item);
		local handlers = {};
		apps[app_name] = handlers;
		for key, handler in pairs(item.route) do
			local name = event_name_for(host, app_path, key);
			if not name then
				module:log("error", "Invalid route in %s: %q", app_name, key);
			elseif handlers[name] then
				module:log("warn", "App %s added handler twice for '%s', ignoring", app_name, name);
			else
				if cors then cors.methods = cors.methods + set.new({ name:match("^%S+") }); end
				if type(handler) ~= "function" then
					local value = handler;
					handler = function() return value; end;
				elseif name:sub(-2) == "/*" then
					local base_length = #name:match("/.+$");
					local inner = handler;
					handler = function(e) return inner(e, e.request.path:sub(base_length)); end;
					hook(name:sub(1, -3), redirect_to_dir, -1);
				elseif name:sub(-1) == "/" then
					hook(name:sub(1, -2), redirect_to_dir, -1);
				end
				-- The listener names this module if the request is never answered (http_handler_timeout).
				local routed, owner = handler, item._provided_by or app_name;
				handler = function(e, ...) http_listener.set_owner(e.response, owner); return routed(e, ...); end;
				local entry = { main = handler };
				hook(name, handler);
				if cors then
					entry.cors, entry.options = cors.apply, cors.options;
					hook(name, cors.apply, 1);
					hook((name:gsub("^%S+", "OPTIONS")), cors.options, -1);
				end
				handlers[name] = entry;
			end
		end
		module:log("info", "Serving '%s' at %s", app_name, module:http_url(app_name, app_path));
	end

	local function app_removed(event)
		local handlers = apps[event.item.name];
		apps[event.item.name] = nil;
		for name, entry in pairs(handlers or {}) do
			module:unhook_object_event(server, name, entry.main);
			if name:sub(-2) == "/*" then
				module:unhook_object_event(server, name:sub(1, -3), redirect_to_dir);
			elseif name:sub(-1) == "/" then
				module:unhook_object_event(server, name:sub(1, -2), redirect_to_dir);
			end
			if entry.cors then
				module:unhook_object_event(server, name, entry.cors);
				module:unhook_object_event(server, (name:gsub("^%S+", "OPTIONS")), entry.options);
			end
		end
	end

	module:handle_items("http-provider", app_added, app_removed);

	if host ~= "*" then
		server.add_host(host);
		function module.unload() server.remove_host(host); end
	end
end

module.add_host(module); -- the global context serves apps too

-- trusted_proxies: a request from one of them takes its client address (and https-ness) from
-- X-Forwarded-For / X-Forwarded-Proto: the last address that is not itself a trusted proxy.
local trusted = module:get_option_set("trusted_proxies", { "127.0.0.1", "::1" });
local ok_ip, ip_util = pcall(require, "util.ip");

local function is_trusted(ip)
	if trusted:contains(ip) then return true; end
	if not (ok_ip and ip_util.new_ip and ip_util.parse_cidr and ip_util.match) then return false; end
	local parsed = ip_util.new_ip(ip);
	if not parsed then return false; end
	for proxy in trusted do
		if proxy:find("/", 1, true) and ip_util.match(parsed, ip_util.parse_cidr(proxy)) then return true; end
	end
	return false;
end

module:wrap_object_event(server._events, false, function(handlers, event_name, event_data)
	local request = event_data.request;
	if request and request.ip and is_trusted(request.ip) then
		local forwarded = request.headers.x_forwarded_for;
		if forwarded then
			local ip = request.ip;
			for candidate in (forwarded .. ", " .. request.ip):gmatch("[^%s,]+") do
				if not is_trusted(candidate) then ip = candidate; end
			end
			request.ip = ip;
		end
		request.secure = request.secure or request.headers.x_forwarded_proto == "https";
	end
	return handlers(event_name, event_data);
end);
