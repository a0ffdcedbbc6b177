-- LuaXmpp configuration, in Prosody's syntax: an existing prosody.cfg.lua works here as it is.
-- Relative paths are taken from this file's directory.

-- Accounts that may administer the server, e.g. { "admin@localhost" }
admins = { }

-- Started as root, the server becomes prosody_user (e.g. "prosody") or refuses; this quick-start
-- config keeps whoever starts it. A deployment sets prosody_user, or systemd's User=, instead.
run_as_root = true

-- Extra directories searched for mod_NAME.lua before our own modules/ (Prosody's plugin_paths).
plugin_paths = { }

-- What a 2026 client (Conversations, Monal, Gajim, Dino, ...) expects. Modules marked "Prosody's"
-- are Prosody's own files: LuaXmpp loads them from an installed Prosody (/usr/lib/prosody/modules,
-- searched after our modules/ and plugin_paths, as Prosody searches its own directory last).
-- scripts/run.sh installs the Debian prosody and prosody-modules packages when they are missing.
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
	"carbons";      -- XEP-0280 copies to the user's other clients (built in, Prosody's rules)
	"csi_simple";   -- XEP-0352 holds unimportant traffic while the client is inactive (Prosody's)
	"blocklist";    -- XEP-0191 blocking (built in, Prosody's rules and data)
	"pep";          -- XEP-0163 personal eventing: OMEMO keys, avatars, ... (Prosody's)
	"bookmarks";    -- XEP-0402 bookmarks of group chats (Prosody's)
	"vcard4";       -- XEP-0292 profiles in PEP (Prosody's)
	"vcard_legacy"; -- XEP-0054/0153 vCards and avatars for older clients, kept in PEP (Prosody's)
	"private";      -- XEP-0049 private XML storage (Prosody's)
	"cloud_notify"; -- XEP-0357 push notifications for sleeping mobile clients (prosody-modules)
	"sasl2";        -- XEP-0388 SASL2: log in, bind and resume in one round trip (prosody-modules)
	"sasl2_bind2";  -- XEP-0386 Bind 2 inside SASL2 (prosody-modules)
	"sasl2_sm";     -- XEP-0198 enable/resume inside SASL2 (prosody-modules)
	"sasl2_fast";   -- XEP-0484 FAST: reconnect with a token instead of the password (prosody-modules)
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

-- XEP-0045 group chats, with their history archived (XEP-0313 for rooms). Prosody's.
Component "conference.localhost" "muc"
	modules_enabled = { "muc_mam" }

-- XEP-0363 file upload (images, voice messages) over HTTPS on 127.0.0.1:5281 (HTTP on 5280). Prosody's.
Component "upload.localhost" "http_file_share"
