-- util.jwt: JSON Web Tokens signed with HMAC-SHA-256 (RFC 7519, JWS HS256 of RFC 7518 §3.2),
-- as mod_http_file_share and mod_unified_push use them. sign(key, payload) -> token;
-- verify(key, token) -> true, payload | false, "signature-mismatch" | nil, reason.

local json = require "util.json";
local hashes = require "util.hashes";
local base64 = require "util.encodings".base64;

-- base64url without padding (RFC 7515 §2).
local to_url = { ["+"] = "-", ["/"] = "_", ["="] = "" };
local from_url = { ["-"] = "+", ["_"] = "/" };
local function b64url_encode(data) return (base64.encode(data):gsub("[+/=]", to_url)); end
local function b64url_decode(text)
	local std = text:gsub("[-_]", from_url);
	return base64.decode(std .. ("="):rep((4 - #std % 4) % 4));
end

local HEADER = b64url_encode(json.encode({ alg = "HS256", typ = "JWT" }));

local function sign(key, payload)
	local signing_input = HEADER .. "." .. b64url_encode(json.encode(payload));
	return signing_input .. "." .. b64url_encode(hashes.hmac_sha256(key, signing_input));
end

local function verify(key, token)
	local signing_input, header_part, payload_part, signature =
		token:match("^(([%w_-]+)%.([%w_-]+))%.([%w_-]+)$");
	if not signing_input then return nil, "invalid-encoding"; end
	local header = json.decode(b64url_decode(header_part) or "");
	if type(header) ~= "table" then return nil, "invalid-header"; end
	if header.alg ~= "HS256" then return nil, "unsupported-algorithm"; end
	local expected = b64url_encode(hashes.hmac_sha256(key, signing_input));
	if not hashes.equals(expected, signature) then return false, "signature-mismatch"; end
	local payload, err = json.decode(b64url_decode(payload_part) or "");
	if err ~= nil or payload == nil then return nil, "json-decode-error"; end
	return true, payload;
end

return { sign = sign, verify = verify };
