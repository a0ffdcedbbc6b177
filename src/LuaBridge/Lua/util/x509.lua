-- util.x509: identities in a certificate and checking them against a domain (RFC 6125 with
-- XMPP's rules of RFC 6120 §13.7.1.2). Works on certificate objects shaped like LuaSec's:
-- cert:extensions() -> { ["2.5.29.17"] = { dNSName = {...}, [xmppAddr oid] = {...}, ... } },
-- cert:subject() -> { { oid = ..., value = ... }, ... }.

local encodings = require "util.encodings";
local nameprep = encodings.stringprep.nameprep;
local to_ascii, to_unicode = encodings.idna.to_ascii, encodings.idna.to_unicode;
local base64 = encodings.base64;
local multitable = require "util.multitable";
local jid_prep = require "util.jid".prep;
local log = require "util.logger".init("x509");

local OID_CN = "2.5.4.3";
local OID_SAN = "2.5.29.17";
local OID_XMPPADDR = "1.3.6.1.5.5.7.8.5";
local OID_SRVNAME = "1.3.6.1.5.5.7.8.7";

local function after_first_label(name) return (name:gsub("^[^.]+%.", "")); end

-- A reference domain against presented names; "*." may stand for exactly the first label (RFC 6125 §6.4.3).
local function dns_matches(domain, names)
	local ascii = to_ascii(domain);
	if not ascii then
		log("info", "Host %s failed IDNA ToASCII operation", domain);
		return false;
	end
	ascii = ascii:lower();
	local parent = after_first_label(ascii);
	for _, name in ipairs(names) do
		local lower = name:lower();
		if lower == ascii then return true; end
		if lower:sub(1, 2) == "*." and after_first_label(lower) == parent then return true; end
	end
	return false;
end

-- id-on-xmppAddr: bare domains only, compared after nameprep (RFC 6120 §13.7.1.4).
local function xmppaddr_matches(domain, names)
	local wanted = nameprep(domain);
	for _, name in ipairs(names) do
		if not name:find("[@/]") and nameprep(name) == wanted then return true; end
	end
	return false;
end

-- SRV-ID "_service.domain" (RFC 4985).
local function srvname_matches(domain, service, names)
	local ascii = to_ascii(domain);
	if not ascii then return false; end
	ascii = ascii:lower();
	if service:sub(1, 1) ~= "_" then service = "_" .. service; end
	for _, srvname in ipairs(names) do
		local svc, name = srvname:match("^(_[^.]+)%.(.*)$");
		if svc == service and dns_matches(ascii, { name }) then return true; end
	end
	return false;
end

local function prepare(cert)
	if cert.setencode then cert:setencode("utf8"); end
end

local function verify_identity(host, service, cert)
	prepare(cert);
	local sans = cert:extensions()[OID_SAN];
	if sans then
		-- RFC 6125 §6.4.4: with any supported SAN present, the CN is not consulted.
		local any = false;
		if sans[OID_XMPPADDR] then
			any = true;
			if (service == "_xmpp-client" or service == "_xmpp-server") and xmppaddr_matches(host, sans[OID_XMPPADDR]) then
				return true;
			end
		end
		if sans[OID_SRVNAME] then
			any = true;
			if service and srvname_matches(host, service, sans[OID_SRVNAME]) then return true; end
		end
		if sans.dNSName then
			any = true;
			if dns_matches(host, sans.dNSName) then return true; end
		end
		if sans.uniformResourceIdentifier then any = true; end
		if any then return false; end
	end
	local cn;
	for _, rdn in ipairs(cert:subject()) do
		if rdn.oid == OID_CN then
			if cn then
				log("info", "Certificate has multiple common names");
				return false;
			end
			cn = rdn.value;
		end
	end
	return cn ~= nil and dns_matches(host, { cn });
end

-- Map of name -> set of services ("*" for any) the certificate is valid for.
local function get_identities(cert)
	prepare(cert);
	local names = multitable.new();
	local sans = cert:extensions()[OID_SAN] or {};
	for _, name in ipairs(sans.dNSName or {}) do
		local wildcard = name:sub(1, 2) == "*.";
		local bare = wildcard and name:sub(3) or name;
		local prepped = nameprep(bare);
		prepped = prepped and to_unicode(prepped);
		if prepped then names:set(wildcard and "*." .. prepped or prepped, "*", true); end
	end
	for _, name in ipairs(sans[OID_XMPPADDR] or {}) do
		-- Prosody's nameprep is bare RFC 3491 and keeps "user@host"; ours applies the domainpart's
		-- label rules, so a client certificate's JID is prepared as a JID instead.
		local prepped = nameprep(name) or jid_prep(name);
		if prepped then
			names:set(prepped, "xmpp-client", true);
			names:set(prepped, "xmpp-server", true);
		end
	end
	for _, srvname in ipairs(sans[OID_SRVNAME] or {}) do
		local service, name = srvname:match("^_([^.]+)%.(.*)$");
		local prepped = service and nameprep(name);
		if prepped then names:set(prepped, service, true); end
	end
	for _, rdn in ipairs(cert:subject()) do
		if rdn.oid == OID_CN then
			local prepped = nameprep(rdn.value);
			if prepped and to_ascii(prepped) then names:set(prepped, "*", true); end
		end
	end
	return names.data;
end

local function pem2der(pem)
	local kind, body = pem:match("%-%-%-%-%-BEGIN ([A-Z ]+)%-%-%-%-%-\r?\n([0-9A-Za-z+/=\r\n]*)\r?\n%-%-%-%-%-END %1%-%-%-%-%-");
	if not kind then return nil; end
	return base64.decode((body:gsub("[\r\n]", ""))), kind;
end

local function der2pem(der, kind)
	kind = kind and kind:upper() or "CERTIFICATE";
	local b64 = base64.encode(der);
	local lines = {};
	for i = 1, #b64, 64 do lines[#lines + 1] = b64:sub(i, i + 63); end
	return ("-----BEGIN %s-----\n%s\n-----END %s-----\n"):format(kind, table.concat(lines, "\n"), kind);
end

return {
	verify_identity = verify_identity,
	get_identities = get_identities,
	pem2der = pem2der,
	der2pem = der2pem,
};
