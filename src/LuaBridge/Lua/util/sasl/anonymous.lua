-- SASL ANONYMOUS (RFC 4505): the server picks a random username; the profile's
-- anonymous(sasl, username, realm) accepts it (true) or asks for another one.

local random_id = require "util.id".medium;

local function anonymous(self)
	local name = random_id():lower();
	while not self.profile.anonymous(self, name, self.realm) do
		name = random_id():lower();
	end
	self.username = name;
	return "success";
end

return {
	init = function(register) register("ANONYMOUS", { "anonymous" }, anonymous); end,
};
