-- luaxmpp.time: the server loop's clocks (its TimeProvider; LuaRuntime.Natives.cs).
--
--   local time = require "luaxmpp.time";
--   time.now()        -- Unix time in seconds, with milliseconds (util.time.now)
--   time.monotonic()  -- seconds since the runtime started, never going back
local native = require "luaxmpp.native.time";
local check = require "luaxmpp.check";

local M = {
	now = check.native(native, "time", "now");
	monotonic = check.native(native, "time", "monotonic");
};

return M;
