-- util.dependencies: softreq (require that returns nil, error instead of raising) and the
-- missing-dependency message modules print; the start-up dependency check has nothing to check
-- here (the libraries Prosody needs from the system are part of the server).
local logger = require "util.logger";

local function softreq(...)
	local ok, lib = pcall(require, ...);
	if ok then return lib; end
	return nil, lib;
end

local function missingdep(name, sources, message)
	local log = logger.init("dependencies");
	log("error", "Missing dependency: %s%s", tostring(name), message and (" (" .. message .. ")") or "");
	if type(sources) == "table" then
		for kind, source in pairs(sources) do log("error", "  %s: %s", tostring(kind), tostring(source)); end
	end
end

return {
	softreq = softreq;
	missingdep = missingdep;
	check_dependencies = function() return true; end;
	log_warnings = function() end;
};
