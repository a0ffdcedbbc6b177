-- luaxmpp.metrics: the numbers core.statsmanager's collect() reads (LuaRuntime.Metrics.cs): the
-- process, the runtime, sessions, stream management and the archive, read on the loop.
--
--   local metrics = require "luaxmpp.metrics";
--   local snapshot = metrics.snapshot();  -- { c2s_sessions = n, smacks_enabled = n, ... }
local check = require "luaxmpp.check";

local metrics_snapshot = check.area("metrics", "metrics_snapshot");

local M = {};

-- snapshot() → a table of current values, by name.
function M.snapshot() return check.raise("metrics.snapshot", metrics_snapshot()) or {}; end

return M;
