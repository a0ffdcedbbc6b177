-- net.server for the bridge: only the timer API, over the C# ServerLoop (util.timer defers
-- to server.timer when it exists). Sockets belong to the C# network layer.
local N = require "luaxmpp.native";
local C = require "luaxmpp.checked";

local M = {};

local timer = {};

-- fn(now, id, param) may return a delay to run again.
function timer.add_task(delay, fn, param)
	local id;
	id = C.add_timer(delay, function(now) return fn(now, id, param); end);
	return id;
end

function timer.stop(id) return N.stop_timer(id); end

function timer.reschedule(id, delay) return N.reschedule_timer(id, delay); end

M.timer = timer;

function M.add_task(delay, fn)
	local id = timer.add_task(delay, fn);
	return { close = function() N.stop_timer(id); end };
end

function M.get_backend() return "luaxmpp"; end
function M.loop() end
function M.setquitting() end

return M;
