-- net.adns: the resolver object modules ask for (mod_admin_shell's dns:lookup). DNS for
-- federation is done by the C# core; a lookup from Lua answers "not available" through the
-- callback (handler(nil, message)) or a rejected promise, never by blocking.
local promise = require "util.promise";

local UNAVAILABLE = "DNS lookups from Lua modules are not available here";

local resolver_mt = {};
resolver_mt.__index = resolver_mt;

function resolver_mt:lookup(handler, qname)
	require "net.server".add_task(0, function() handler(nil, UNAVAILABLE .. " (" .. tostring(qname) .. ")"); end);
	return true;
end

function resolver_mt:lookup_promise(qname)
	return promise.reject(UNAVAILABLE .. " (" .. tostring(qname) .. ")");
end

function resolver_mt:addnameserver() end
function resolver_mt:setnameserver() end
function resolver_mt:clearcache() end
function resolver_mt:settimeout() end
function resolver_mt:cancel() end

local function resolver() return setmetatable({}, resolver_mt); end

return {
	resolver = resolver;
	lookup = function(handler, qname) return resolver():lookup(handler, qname); end;
	cancel = function() end;
};
