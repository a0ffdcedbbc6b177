-- SASL EXTERNAL (RFC 4422 Appendix A): identity from the transport (a client certificate).
-- The profile's external(authzid) returns username, state.

local saslprep = require "util.encodings".stringprep.saslprep;

local function external(self, message)
	local username, state = self.profile.external(saslprep(message));
	self.username = username;
	if state == false then return "failure", "account-disabled"; end
	if state == nil then return "failure", "not-authorized"; end
	if state == "expired" then return "failure", "credentials-expired"; end
	return "success";
end

return {
	init = function(register) register("EXTERNAL", { "external" }, external); end,
};
