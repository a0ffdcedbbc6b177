-- util.debug for LuaXmpp: reduced to tracebacks (Prosody's variant adds locals and upvalues).
local function get_traceback_table(thread, start_level)
	local frames = {};
	local level = start_level or 1;
	while true do
		local info;
		if thread then info = debug.getinfo(thread, level, "Snl"); else info = debug.getinfo(level + 1, "Snl"); end
		if not info then break; end
		frames[#frames + 1] = { level = level, info = info };
		level = level + 1;
	end
	return frames;
end

local function traceback(thread, message, level)
	if type(thread) ~= "thread" then
		thread, message, level = nil, thread, message;
	end
	if thread then return debug.traceback(thread, message, level); end
	return debug.traceback(message, (level or 1) + 1);
end

return {
	get_traceback_table = get_traceback_table;
	traceback = traceback;
	use = function() end;
};
