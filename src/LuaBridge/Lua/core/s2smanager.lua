-- core.s2smanager for the bridge: LuaXmpp has no server-to-server connections yet, so there are
-- no s2s sessions; the tables and functions modules expect exist and stay empty.
local M = {};

M.incoming_s2s = {};

function M.new_incoming() return nil, "s2s is not supported"; end
function M.new_outgoing() return nil, "s2s is not supported"; end
function M.make_authenticated() return false, "s2s is not supported"; end
function M.destroy_session() end
function M.retire_session(session) return session; end
function M.get_incoming_session() return nil; end

return M;
