-- util.termcolours for LuaXmpp: a server writing to a log has no terminal, so styles are
-- empty and text passes through unchanged.
local function getstring(_, text) return text; end
local function getstyle() return ""; end
local function setstyle() return nil; end
local function tohtml(text) return text; end

return { getstring = getstring, getstyle = getstyle, setstyle = setstyle, tohtml = tohtml };
