-- util.presence for LuaXmpp: the available resources of a user with the highest non-negative
-- priority (RFC 6121 §8.5.2.1.1), kept in user.top_resources.
local function select_top_resources(user)
	local best, top = 0, {};
	for _, session in pairs(user.sessions) do
		if session.presence then
			local priority = session.priority;
			if priority > best then
				best, top = priority, { session };
			elseif priority == best then
				top[#top + 1] = session;
			end
		end
	end
	return top;
end

local function recalc_resource_map(user)
	if not user then return; end
	local top = select_top_resources(user);
	if #top == 0 then top = nil; end
	user.top_resources = top;
end

return { select_top_resources = select_top_resources, recalc_resource_map = recalc_resource_map };
