-- util.random for LuaXmpp: cryptographically secure bytes from the native util.crand
-- (the operating system's CSPRNG through .NET).
local crand = require "util.crand";

return {
	bytes = crand.bytes;
	-- COMPAT: Prosody exposes seed(); a CSPRNG needs none.
	seed = function() end;
	_source = crand._source;
};
