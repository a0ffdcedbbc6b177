-- luaxmpp.log: the server's log (LuaRuntime.Natives.cs), under which util.logger, core.bridge
-- and the net.* libraries write. Levels are Prosody's: "debug", "info", "warn", "error".
--
--   local log = require "luaxmpp.log";
--   if log.enabled("debug") then log.write("mod_x", "debug", "detail"); end
local check = require "luaxmpp.check";
local arg = check.arg;

local log, log_enabled = check.area("log", "log", "log_enabled");

local M = {};

-- write(source, level, message): one line under source's name.
function M.write(source, level, message)
	arg("log.write", 1, source, "string");
	arg("log.write", 2, level, "string");
	arg("log.write", 3, message, "string");
	log(source, level, message);
end

-- enabled(level) → whether a line at that level would be written.
function M.enabled(level)
	arg("log.enabled", 1, level, "string");
	return log_enabled(level);
end

return M;
