-- util.ip: IP address objects (new_ip), CIDR parsing and prefix matching, and the RFC 6724
-- properties (scope, label, precedence) used to sort candidate addresses, plus private().

local net = require "util.net";

local ip_methods = {};
local ip_mt = {};

-- Derived properties are computed on first access and then cached in the object.
function ip_mt.__index(ip, key)
	local compute = ip_methods[key];
	if not compute then return nil; end
	local value = compute(ip);
	ip[key] = value;
	return value;
end
function ip_mt.__tostring(ip) return ip.addr; end
function ip_mt.__eq(a, b)
	if getmetatable(a) ~= ip_mt or getmetatable(b) ~= ip_mt then return false; end
	return a.packed == b.packed;
end

local function new_ip(text, proto)
	local zone;
	if proto ~= "IPv4" and text:find("%", 1, true) then
		text, zone = text:match("^(.-)%%(.*)$");
	end
	local packed, err = net.pton(text);
	if not packed then return nil, err; end
	local family = #packed == 16 and "IPv6" or #packed == 4 and "IPv4" or nil;
	if proto == nil then
		if not family then return nil, "unknown protocol"; end
		proto = family;
	elseif proto ~= "IPv4" and proto ~= "IPv6" then
		return nil, "invalid protocol";
	elseif proto ~= family then
		return nil, proto == "IPv6" and "invalid-ipv6" or "invalid-ipv4";
	end
	return setmetatable({ addr = text, packed = packed, proto = proto, zone = zone }, ip_mt);
end

function ip_methods.normal(ip) return net.ntop(ip.packed); end

-- The address as a string of "0"/"1" characters.
function ip_methods.bits(ip)
	local out = {};
	for i = 1, #ip.packed do
		local byte = ip.packed:byte(i);
		for shift = 7, 0, -1 do out[#out + 1] = (byte >> shift) & 1 == 1 and "1" or "0"; end
	end
	return table.concat(out);
end

function ip_methods.toV4mapped(ip)
	if ip.proto ~= "IPv4" then return nil; end
	return new_ip("::ffff:" .. ip.normal);
end

-- IPv4 addresses as their IPv4-mapped IPv6 form, so that every address has 128 bits.
function ip_methods.bits_full(ip)
	if ip.proto == "IPv4" then return ip.toV4mapped.bits; end
	return ip.bits;
end

local function commonPrefixLength(a, b)
	local x, y = a.bits_full, b.bits_full;
	for i = 1, 128 do
		if x:byte(i) ~= y:byte(i) then return i - 1; end
	end
	return 128;
end

-- True when the first `bits` bits of a and b agree (an IPv4 side is compared as IPv4-mapped).
local function match(a, b, bits)
	if not bits or bits >= 128 or (b.proto == "IPv4" and bits >= 32) then return a == b; end
	if bits < 1 then return true; end
	if a.proto ~= b.proto then
		if a.proto == "IPv4" then
			a = a.toV4mapped;
		else
			b = b.toV4mapped;
			bits = bits + 96;
		end
	end
	return a.bits:sub(1, bits) == b.bits:sub(1, bits);
end

local function parse_cidr(cidr)
	local addr, len = cidr:match("^(.-)/(.*)$");
	if not addr then return new_ip(cidr), nil; end
	return new_ip(addr), tonumber(len);
end

local well_known = {};
for name, text in pairs({
	loopback = "::1", loopback4 = "127.0.0.0", linklocal4 = "169.254.0.0",
	sixtofour = "2002::", teredo = "2001::", linklocal = "fe80::", uniquelocal = "fc00::",
	sitelocal = "fec0::", sixbone = "3ffe::", unspecified = "::", multicast = "ff00::",
	v4mapped = "::ffff:0:0", rfc1918_8 = "10.0.0.0", rfc1918_12 = "172.16.0.0",
	rfc1918_16 = "192.168.0.0", rfc6598 = "100.64.0.0",
}) do
	well_known[name] = new_ip(text);
end
local K = well_known;

-- RFC 6724 §2.1 policy table rows: prefix, length, precedence, label.
local policy = {
	{ K.loopback, 128, 50, 0 }, { K.sixtofour, 16, 30, 2 }, { K.teredo, 32, 5, 5 },
	{ K.uniquelocal, 7, 3, 13 }, { K.sitelocal, 10, 1, 11 }, { K.sixbone, 16, 1, 12 },
	{ K.unspecified, 96, 1, 3 }, { K.v4mapped, 96, 35, 4 },
};

local function policy_row(ip)
	if ip.proto == "IPv4" then ip = ip.toV4mapped; end
	for _, row in ipairs(policy) do
		if (row[2] == 128 and ip == row[1]) or (row[2] < 128 and match(ip, row[1], row[2])) then return row; end
	end
end

function ip_methods.precedence(ip)
	local row = policy_row(ip);
	return row and row[3] or 40;
end

function ip_methods.label(ip)
	local row = policy_row(ip);
	return row and row[4] or 1;
end

-- RFC 6724 §3.1 scopes: 0x2 link-local (loopback too), 0x5 site-local, 0xE global.
function ip_methods.scope(ip)
	if ip.proto == "IPv4" then
		if match(ip, K.loopback4, 8) or match(ip, K.linklocal4, 16) then return 0x2; end
		return 0xE;
	end
	if ip == K.loopback or match(ip, K.linklocal, 10) then return 0x2; end
	if match(ip, K.sitelocal, 10) then return 0x5; end
	if match(ip, K.multicast, 10) then return ip.packed:byte(2) % 16; end
	return 0xE;
end

-- Not globally routable: non-global scope, RFC 1918 ranges and RFC 6598 shared space.
function ip_methods.private(ip)
	if ip.scope ~= 0xE then return true; end
	if ip.proto ~= "IPv4" then return false; end
	return match(ip, K.rfc1918_8, 8) or match(ip, K.rfc1918_12, 12) or match(ip, K.rfc1918_16, 16)
		or match(ip, K.rfc6598, 10);
end

return {
	new_ip = new_ip,
	commonPrefixLength = commonPrefixLength,
	parse_cidr = parse_cidr,
	match = match,
};
