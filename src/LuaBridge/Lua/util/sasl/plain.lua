-- SASL PLAIN (RFC 4616). Backends: plain(sasl, user, realm) -> password, state and
-- plain_test(sasl, user, password, realm) -> ok, state. state false means a disabled account.

local stringprep = require "util.encodings".stringprep;
local log = require "util.logger".init("sasl");

local INVALID = "Invalid username or password.";

local function plain(self, message)
	if not message then return "failure", "malformed-request"; end
	-- message = [authzid] NUL authcid NUL passwd
	local authz, authc, password = message:match("^([^%z]*)%z([^%z]+)%z([^%z]+)");
	if not authz then return "failure", "malformed-request"; end

	authc, password = stringprep.saslprep(authc), stringprep.saslprep(password);
	if not authc or authc == "" or not password or password == "" then
		log("debug", "Username or password violates SASLprep.");
		return "failure", "malformed-request", INVALID;
	end

	local prep = self.profile.nodeprep;
	if prep ~= false then
		authc = (prep or stringprep.nodeprep)(authc);
		if not authc or authc == "" then return "failure", "malformed-request", INVALID; end
	end
	self.username = authc;

	local ok, state = false, false;
	local profile = self.profile;
	if profile.plain then
		local expected;
		expected, state = profile.plain(self, authc, self.realm);
		ok = stringprep.saslprep(expected) == password;
	elseif profile.plain_test then
		ok, state = profile.plain_test(self, authc, password, self.realm);
	end

	if state == false then return "failure", "account-disabled"; end
	if state == nil or not ok then
		return "failure", "not-authorized", "Unable to authorize you with the authentication credentials you've sent.";
	end
	return "success";
end

return {
	init = function(register) register("PLAIN", { "plain", "plain_test" }, plain); end,
};
