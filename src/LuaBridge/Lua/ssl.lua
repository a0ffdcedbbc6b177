-- ssl: the part of LuaSec's top-level module that module files use without a socket. TLS is
-- native here (the listeners' SslStream), so there are no LuaSec contexts or wrapped sockets:
-- newcontext and wrap fail with a reason instead of pretending. Certificates: ssl.x509.
local x509 = require "ssl.x509";

local function native_tls()
	return nil, "TLS is handled natively by LuaXmpp; LuaSec contexts and sockets are not available";
end

return {
	_VERSION = "1.2.0 (LuaXmpp certificates only)",
	loadcertificate = x509.load,
	newcontext = native_tls,
	wrap = native_tls,
};
