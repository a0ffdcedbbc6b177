-- luaxmpp.http: the server's HTTP listener (LuaRuntime.Http.cs) as mod_http sees it. Requests
-- arrive as "http-request" work from C#; net.http.server answers them through the raw
-- "http" native area (start/write/finish), and net.http's client through http_request.
--
--   local http = require "luaxmpp.http";
--   http.enable();                            -- the listener serves this server's HTTP apps
--   http.set_owner(event.response, "bosh");   -- names the module if the request times out
local check = require "luaxmpp.check";
local arg = check.arg;

local http_enable, http_owner = check.area("http", "http_enable", "http_owner");

local M = {};

-- enable(): asks the server to start its HTTP listeners (http_ports, https_ports).
function M.enable()
	http_enable();
end

-- set_owner(response, name): the module whose handler took the request, for the log line the
-- listener writes when it is never answered (http_handler_timeout).
function M.set_owner(response, name)
	arg("http.set_owner", 1, response, "table");
	arg("http.set_owner", 2, name, "string", true);
	http_owner(response.id, name);
end

return M;
