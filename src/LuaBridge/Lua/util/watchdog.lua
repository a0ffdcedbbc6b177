-- util.watchdog for LuaXmpp: calls callback(watchdog) once `timeout` seconds pass without a
-- reset(). cancel() disarms it. Checked by a util.timer task that re-arms itself.
local timer = require "util.timer";

local watchdog_methods = {};
local watchdog_mt = { __index = watchdog_methods };

local function new(timeout, callback)
	local watchdog = setmetatable({ timeout = timeout, last_reset = os.time(), callback = callback }, watchdog_mt);
	timer.add_task(timeout + 1, function(now)
		local last_reset = watchdog.last_reset;
		if not last_reset then return nil; end
		local remaining = last_reset + timeout - now;
		if remaining < 0 then return watchdog:callback(); end
		return remaining + 1;
	end);
	return watchdog;
end

function watchdog_methods:reset() self.last_reset = os.time(); end
function watchdog_methods:cancel() self.last_reset = nil; end

return { new = new };
