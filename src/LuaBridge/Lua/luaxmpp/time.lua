-- luaxmpp.time: the server loop's clocks (its TimeProvider; LuaRuntime.Natives.cs).
--
--   local time = require "luaxmpp.time";
--   time.now()        -- Unix time in seconds, with milliseconds (util.time.now)
--   time.monotonic()  -- seconds since the runtime started, never going back
local check = require "luaxmpp.check";

local M = {};

M.now, M.monotonic = check.area("time", "now", "monotonic");

return M;
