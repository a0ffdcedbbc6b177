-- luaxmpp.hosts: the server's hosts, their config options and their items (LuaRuntime.Natives.cs,
-- LuaRuntime.Sessions.cs), for core.configmanager, core.hostmanager and core.moduleapi
-- (module:get_option, module:add_item, module:get_host_items). Host "*" is the global section.
--
--   local hosts = require "luaxmpp.hosts";
--   hosts.get_option("example.com", "admins");
--   for _, name in ipairs(hosts.list()) do ... end
local check = require "luaxmpp.check";
local arg, raise = check.arg, check.raise;

local host_list, host_info, get_option,
	add_item, remove_item, get_host_items = check.area("hosts",
	"host_list", "host_info", "get_option",
	"add_item", "remove_item", "get_host_items");

local M = {};

-- list() → array of the active host names.
function M.list() return raise("hosts.list", host_list()) or {}; end

-- info(host) → kind ("local" | "component"), session id; nil for an unknown host.
function M.info(host)
	arg("hosts.info", 1, host, "string");
	return raise("hosts.info", host_info(host));
end

-- get_option(host, name) → the option's value in the host's section, else the global one.
function M.get_option(host, name)
	arg("hosts.get_option", 1, host, "string");
	arg("hosts.get_option", 2, name, "string");
	return raise("hosts.get_option", get_option(host, name));
end

-- add_item(host, key, value, owner?): module:add_item; owner is the module's _owner id.
function M.add_item(host, key, value, owner)
	arg("hosts.add_item", 1, host, "string");
	arg("hosts.add_item", 2, key, "string");
	if value == nil then error("bad argument #3 to 'hosts.add_item' (value expected, got nil)", 2); end
	arg("hosts.add_item", 4, owner, "integer", true);
	return raise("hosts.add_item", add_item(host, key, value, owner));
end

-- remove_item(host, key, value): the item added with this very value (table identity).
function M.remove_item(host, key, value)
	arg("hosts.remove_item", 1, host, "string");
	arg("hosts.remove_item", 2, key, "string");
	return raise("hosts.remove_item", remove_item(host, key, value));
end

-- items(host, key) → array of the host's items under key (module:get_host_items).
function M.items(host, key)
	arg("hosts.items", 1, host, "string");
	arg("hosts.items", 2, key, "string");
	return raise("hosts.items", get_host_items(host, key));
end

return M;
