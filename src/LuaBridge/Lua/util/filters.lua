-- util.filters for LuaXmpp: per-session filter chains ("stanzas/in", "stanzas/out",
-- "bytes/in", "bytes/out", ...). session.filter(type, data) passes data through the chain in
-- descending priority; a filter returning nil drops the data and ends the chain.
-- The server's natives, absent when this library runs on its own (a plain Lua state in tests).
local has_native, N_connections = pcall(require, "luaxmpp.native.connections");
local function notify_hooks(count)
	if has_native then N_connections.filter_hooks(count); end
end
local hooks = {};  -- functions called with every session initialised

local function initialize(session)
	if not session.filters then
		local filters = {};
		session.filters = filters;
		-- A real Lua closure over `session`: mod_smacks rebinds filter.session on resume.
		function session.filter(kind, data)
			local chain = filters[kind];
			if chain then
				for i = 1, #chain do
					data = chain[i](data, session);
					if data == nil then break; end
				end
			end
			return data;
		end
	end
	for i = 1, #hooks do hooks[i](session); end
	return session.filter;
end

-- Each chain is an array of filters plus a map filter -> priority.
local function add_filter(session, kind, callback, priority)
	if not session.filters then initialize(session); end
	local chain = session.filters[kind];
	if not chain then
		chain = {};
		session.filters[kind] = chain;
	elseif chain[callback] then
		return;
	end
	priority = priority or 0;
	local position = 1;
	while chain[position] and chain[chain[position]] >= priority do position = position + 1; end
	table.insert(chain, position, callback);
	chain[callback] = priority;
end

local function remove_filter(session, kind, callback)
	local chain = session.filters and session.filters[kind];
	if not (chain and chain[callback]) then return nil; end
	for i = 1, #chain do
		if chain[i] == callback then
			table.remove(chain, i);
			chain[callback] = nil;
			return true;
		end
	end
end

local function add_filter_hook(callback)
	hooks[#hooks + 1] = callback;
	-- C# then makes each new connection's session table at once, so the hook sees it.
	notify_hooks(#hooks);
end

local function remove_filter_hook(callback)
	for i = #hooks, 1, -1 do
		if hooks[i] == callback then table.remove(hooks, i); end
	end
	notify_hooks(#hooks);
end

return {
	initialize = initialize;
	add_filter = add_filter;
	remove_filter = remove_filter;
	add_filter_hook = add_filter_hook;
	remove_filter_hook = remove_filter_hook;
};
