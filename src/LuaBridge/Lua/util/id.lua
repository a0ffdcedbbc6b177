-- util.id for LuaXmpp: random identifiers in unpadded base64url (RFC 4648 §5).
local random_bytes = require "util.random".bytes;
local base64_encode = require "util.encodings".base64.encode;

local url_safe = { ["+"] = "-", ["/"] = "_", ["="] = "" };

local function random_id(n_bytes)
	return (base64_encode(random_bytes(n_bytes)):gsub("[+/=]", url_safe));
end

return {
	tiny = function() return random_id(3); end;     -- 4 characters
	short = function() return random_id(9); end;    -- 12 characters
	medium = function() return random_id(18); end;  -- 24 characters
	long = function() return random_id(27); end;    -- 36 characters
	custom = function(n_bytes)
		return function() return random_id(n_bytes); end;
	end;
};
