-- SASL SCRAM-SHA-1 and SCRAM-SHA-256, with and without -PLUS (RFC 5802, RFC 7677).
-- Backends: plain(sasl, user, realm) -> password, state (keys derived on the fly), or
-- scram_sha_1 / scram_sha_256(sasl, user, realm) -> stored_key, server_key, iterations, salt, state.
-- Channel binding (RFC 5802 §6) uses profile.cb[type](sasl) for the binding data.

local base64 = require "util.encodings".base64;
local stringprep = require "util.encodings".stringprep;
local hashes = require "util.hashes";
local new_uuid = require "util.uuid".generate;
local sxor = require "util.strbitop".sxor;
local log = require "util.logger".init("sasl");

local DEFAULT_ITERATIONS = 10000;

-- RFC 5802 §5.1: in a username "," and "=" travel as "=2C" and "=3D"; any other "=" is invalid.
local function decode_username(name, prep)
	for escape in name:gmatch("=(.?.?)") do
		if escape ~= "2C" and escape ~= "3D" then return false; end
	end
	name = name:gsub("=2C", ","):gsub("=3D", "=");
	name = stringprep.saslprep(name);
	if name and prep ~= false then name = (prep or stringprep.nodeprep)(name); end
	if not name or name == "" then return false; end
	return name;
end

-- "SHA-256" -> "sha_256": the profile backend suffix.
local function backend_suffix(hash_name)
	return (hash_name:lower():gsub("-", "_"));
end

-- Returns a function(password, salt, iterations) -> true, stored_key, server_key (RFC 5802 §3).
local function make_hasher(H, HMAC, Hi)
	return function(password, salt, iterations)
		if type(password) ~= "string" or type(salt) ~= "string" or type(iterations) ~= "number" then
			return false, "inappropriate argument types";
		end
		if iterations < 4096 then
			log("warn", "Iteration count < 4096 which is the suggested minimum according to RFC 5802.");
		end
		local prepped = stringprep.saslprep(password);
		if not prepped then return false, "password fails SASLprep"; end
		local salted = Hi(prepped, salt, iterations);
		return true, H(HMAC(salted, "Client Key")), HMAC(salted, "Server Key");
	end
end

local function client_first(self, message, ctx)
	-- gs2-header: cbind-flag "," [authzid] "," ; then client-first-message-bare
	local gs2_header, flag, cb_name, bare, user, cnonce =
		message:match("^(([pny])=?([^,]*),[^,]*,)(m?=?[^,]*,?n=([^,]*),r=([^,]*),?.*)$");
	if not flag then return "failure", "malformed-request"; end

	local binding_offered = self.profile.cb ~= nil;
	-- "y": the client could bind but thinks we cannot; when we can, that is a downgrade (§6).
	if binding_offered and flag == "y" then return "failure", "malformed-request"; end
	if flag == "n" then
		if ctx.expect_cb then log("debug", "Client unexpectedly doesn't support channel binding"); end
		binding_offered = false;
	end
	if binding_offered and flag == "p" then
		if not self.profile.cb[cb_name] then
			return "failure", "malformed-request", "Proposed channel binding type isn't supported.";
		end
	else
		cb_name = nil;
	end

	local username = decode_username(user, self.profile.nodeprep);
	if not username then
		log("debug", "Username violates either SASLprep or contains forbidden character sequences.");
		return "failure", "malformed-request", "Invalid username.";
	end
	self.username = username;

	local stored_key, server_key, iterations, salt, status;
	if self.profile.plain then
		local password;
		password, status = self.profile.plain(self, username, self.realm);
		if status == nil then return "failure", "not-authorized"; end
		if status == false then return "failure", "account-disabled"; end
		password = stringprep.saslprep(password);
		if not password then
			log("debug", "Password violates SASLprep.");
			return "failure", "not-authorized", "Invalid password.";
		end
		salt, iterations = new_uuid(), DEFAULT_ITERATIONS;
		local ok;
		ok, stored_key, server_key = ctx.hasher(password, salt, iterations);
		if not ok then
			log("error", "Generating authentication database failed. Reason: %s", stored_key);
			return "failure", "temporary-auth-failure";
		end
	else
		local backend = self.profile[ctx.backend];
		if backend then
			stored_key, server_key, iterations, salt, status = backend(self, username, self.realm);
			if status == nil then return "failure", "not-authorized"; end
			if status == false then return "failure", "account-disabled"; end
		end
	end

	local nonce = cnonce .. new_uuid();
	local server_first = ("r=%s,s=%s,i=%d"):format(nonce, base64.encode(salt), iterations);
	self.state = {
		gs2_header = gs2_header, gs2_cbind_name = cb_name,
		-- the profile may have changed self.username; keep what it left
		username = self.username, nonce = nonce,
		stored_key = stored_key, server_key = server_key,
		client_first_message_bare = bare, server_first_message = server_first,
	};
	return "challenge", server_first;
end

local function client_final(self, message, ctx)
	local state = self.state;
	local without_proof, cbind, nonce, proof = message:match("(c=([^,]*),r=([^,]*),?.-),p=(.*)$");
	if not (proof and nonce and cbind) then
		return "failure", "malformed-request", "Missing an attribute(p, r or c) in SASL message.";
	end
	local expected_cbind = state.gs2_header;
	if state.gs2_cbind_name then
		expected_cbind = expected_cbind .. self.profile.cb[state.gs2_cbind_name](self);
	end
	if base64.decode(cbind) ~= expected_cbind then
		return "failure", "malformed-request", "Invalid channel binding value.";
	end
	if nonce ~= state.nonce then
		return "failure", "malformed-request", "Wrong nonce in client-final-message.";
	end
	local auth_message = state.client_first_message_bare .. "," .. state.server_first_message .. "," .. without_proof;
	local client_key = sxor(ctx.HMAC(state.stored_key, auth_message), base64.decode(proof) or "");
	if ctx.H(client_key) ~= state.stored_key then
		return "failure", "not-authorized", "The response provided by the client doesn't match the one we calculated.";
	end
	return "success", "v=" .. base64.encode(ctx.HMAC(state.server_key, auth_message));
end

local function mechanism(hash_name, H, HMAC, hasher, expect_cb)
	local ctx = { H = H, HMAC = HMAC, hasher = hasher, expect_cb = expect_cb,
		backend = "scram_" .. backend_suffix(hash_name) };
	return function(self, message)
		if type(message) ~= "string" or message == "" then return "failure", "malformed-request"; end
		if self.state then return client_final(self, message, ctx); end
		return client_first(self, message, ctx);
	end
end

local hashers = {};

local function init(register)
	local function add(hash_name, H, HMAC, Hi)
		local hasher = make_hasher(H, HMAC, Hi);
		hashers[hash_name] = hasher;
		local backends = { "plain", "scram_" .. backend_suffix(hash_name) };
		register("SCRAM-" .. hash_name, backends, mechanism(hash_name, H, HMAC, hasher, false));
		register("SCRAM-" .. hash_name .. "-PLUS", backends, mechanism(hash_name, H, HMAC, hasher, true), { "tls-unique" });
	end
	add("SHA-1", hashes.sha1, hashes.hmac_sha1, hashes.pbkdf2_hmac_sha1);
	add("SHA-256", hashes.sha256, hashes.hmac_sha256, hashes.pbkdf2_hmac_sha256);
end

return {
	init = init,
	get_hash = make_hasher,
	hashers = hashers,
	getAuthenticationDatabaseSHA1 = make_hasher(hashes.sha1, hashes.hmac_sha1, hashes.pbkdf2_hmac_sha1),
};
