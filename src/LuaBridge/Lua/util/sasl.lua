-- util.sasl: the SASL mechanism registry and per-negotiation objects (RFC 4422) that
-- mod_saslauth, mod_sasl2 and the auth providers use.
--
-- A profile is a table of backend callbacks (plain, plain_test, scram_sha_1, scram_sha_256,
-- anonymous, external, ...). A mechanism is offered when the profile provides one of the
-- backends it was registered for; channel-binding mechanisms (the -PLUS ones) additionally
-- need a matching handler in profile.cb.

local registry = {
	handlers = {},     -- mechanism name -> function(sasl, message)
	by_backend = {},   -- backend name -> { mechanism names }
	cb_types = {},     -- mechanism name -> set of channel binding types it needs
};

local function registerMechanism(name, backends, handler, cb_backends)
	assert(type(name) == "string", "Parameter name MUST be a string.");
	assert(type(backends) == "string" or type(backends) == "table",
		"Parameter backends MUST be either a string or a table.");
	assert(type(handler) == "function", "Parameter f MUST be a function.");
	if cb_backends ~= nil then assert(type(cb_backends) == "table"); end
	if type(backends) == "string" then backends = { backends }; end
	registry.handlers[name] = handler;
	if cb_backends then
		local needed = {};
		for _, cb in ipairs(cb_backends) do needed[cb] = true; end
		registry.cb_types[name] = needed;
	end
	for _, backend in ipairs(backends) do
		local list = registry.by_backend[backend];
		if not list then
			list = {};
			registry.by_backend[backend] = list;
		end
		list[#list + 1] = name;
	end
end

local method = {};
method.__index = method;

-- The mechanisms a profile supports, computed once and kept in profile.mechanisms.
local function profile_mechanisms(profile)
	local mechs = profile.mechanisms;
	if mechs then return mechs; end
	mechs = {};
	for backend in pairs(profile) do
		local list = registry.by_backend[backend];
		if list then
			for _, name in ipairs(list) do mechs[name] = true; end
		end
	end
	profile.mechanisms = mechs;
	return mechs;
end

local function new(realm, profile)
	return setmetatable({ realm = realm, profile = profile, mechs = profile_mechanisms(profile) }, method);
end

function method:add_cb_handler(name, handler)
	if type(self.profile.cb) ~= "table" then self.profile.cb = {}; end
	self.profile.cb[name] = handler;
	return self;
end

function method:clean_clone()
	return new(self.realm, self.profile);
end

local function has_binding(needed, available)
	if type(available) ~= "table" then return false; end
	for cb in pairs(available) do
		if needed[cb] then return true; end
	end
	return false;
end

-- The set of mechanism names usable now (channel binding ones only with a handler).
function method:mechanisms()
	local usable = {};
	for name in pairs(self.mechs) do
		local needed = registry.cb_types[name];
		if not needed or has_binding(needed, self.profile.cb) then
			usable[name] = true;
		end
	end
	return usable;
end

-- Selects a mechanism once; true when it is one of ours.
function method:select(name)
	if self.selected or not self.mechs[name] then return nil; end
	self.selected = name;
	return true;
end

-- Feeds a client message: returns "success" | "challenge" | "failure", then data or a condition and text.
function method:process(message)
	return registry.handlers[self.selected](self, message);
end

for _, mech in ipairs({ "plain", "anonymous", "scram", "external" }) do
	require("util.sasl." .. mech).init(registerMechanism);
end

return {
	registerMechanism = registerMechanism,
	new = new,
};
