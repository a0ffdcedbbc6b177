-- LuaXmpp configuration, in Prosody's syntax: an existing prosody.cfg.lua works here as it is.
-- Relative paths are taken from this file's directory.

-- Accounts that may administer the server, e.g. { "admin@localhost" }
admins = { }

-- Started as root, the server becomes prosody_user (e.g. "prosody") or refuses; this quick-start
-- config keeps whoever starts it. A deployment sets prosody_user, or systemd's User=, instead.
run_as_root = true

-- Extra directories searched for mod_NAME.lua before our own modules/ (Prosody's plugin_paths).
plugin_paths = { }

modules_enabled = {
	"roster";   -- RFC 6121 rosters
	"saslauth"; -- authentication (built in)
	"tls";      -- STARTTLS (built in)
	"disco";    -- XEP-0030 service discovery
	"ping";     -- XEP-0199
	"time";     -- XEP-0202
	"version";  -- XEP-0092
	"uptime";   -- XEP-0012 for the server
	"register"; -- XEP-0077 in-band registration (see allow_registration)
	"offline";  -- messages for offline users are stored and delivered later
	"smacks";   -- XEP-0198 stream management: acks and resumption (modules/mod_smacks.lua)
	"mam";      -- XEP-0313 message archive (modules/mod_mam), in SQLite
}

-- Listen on loopback only by default; use { "*" } to serve the network.
interfaces = { "127.0.0.1" }
c2s_ports = { 5222 }
c2s_direct_tls_ports = { 5223 } -- XEP-0368 TLS from the first byte

-- RFC 6120: clients must encrypt before they authenticate.
c2s_require_encryption = true
allow_unencrypted_plain_auth = false

-- Clients may create accounts themselves. Turn this off on a public server.
allow_registration = true

authentication = "internal_hashed" -- SCRAM-SHA-1 (Prosody-compatible) and SCRAM-SHA-256

-- Prosody's SQL schema on SQLite: an existing Prosody database opens unchanged.
storage = "sql"
sql = { driver = "SQLite3", database = "prosody.sqlite" }
data_path = "data"

-- Certificates are looked up here as HOST.crt / HOST.key; a self-signed one is generated on
-- first start for any VirtualHost that has none.
certificates = "certs"

log = {
	info = "*console";
}

VirtualHost "localhost"
