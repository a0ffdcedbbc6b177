-- util.events for LuaXmpp: a named-event bus. Handlers run in descending priority (ties in
-- registration order, a deterministic tightening of Prosody's unspecified order); the first
-- handler to return anything other than nil stops the event and its value is returned.
-- Wrappers run around dispatch, per event or globally (event name false).

local function new()
	local registrations = {};  -- event -> { handler -> { priority, sequence } }
	local sequence = 0;
	local per_event_wrappers, global_wrappers = {}, nil;
	local debug_hook = nil;

	-- handlers[event] is the sorted handler array, rebuilt lazily after any change.
	-- Modules read it directly (mod_csi tests handlers["csi-client-active"]).
	local handlers = setmetatable({}, {
		__index = function(self, event)
			local regs = registrations[event];
			if not regs or next(regs) == nil then return nil; end
			local list = {};
			for handler in pairs(regs) do list[#list + 1] = handler; end
			table.sort(list, function(a, b)
				local ra, rb = regs[a], regs[b];
				if ra[1] ~= rb[1] then return ra[1] > rb[1]; end
				return ra[2] < rb[2];
			end);
			rawset(self, event, list);
			return list;
		end;
	});

	local function add_handler(event, handler, priority)
		local regs = registrations[event];
		if not regs then
			regs = {};
			registrations[event] = regs;
		end
		sequence = sequence + 1;
		local existing = regs[handler];
		regs[handler] = { priority or 0, existing and existing[2] or sequence };
		handlers[event] = nil;
	end

	local function remove_handler(event, handler)
		local regs = registrations[event];
		if not regs then return; end
		regs[handler] = nil;
		handlers[event] = nil;
		if next(regs) == nil then registrations[event] = nil; end
	end

	local function add_handlers(map)
		for event, handler in pairs(map) do add_handler(event, handler); end
	end

	local function remove_handlers(map)
		for event, handler in pairs(map) do remove_handler(event, handler); end
	end

	local function get_handlers(event)
		return handlers[event];
	end

	local function dispatch(event, data)
		local list = handlers[event];
		if not list then return nil; end
		for i = 1, #list do
			local result;
			if debug_hook then
				result = debug_hook(list[i], event, data);
			else
				result = list[i](data);
			end
			if result ~= nil then return result; end
		end
		return nil;
	end

	-- Wrappers are called as wrapper(next, event, data); the last added runs outermost.
	-- Per-event wrappers run outside the global ones.
	local function fire_event(event, data)
		local chain = {};
		for _, w in ipairs(per_event_wrappers[event] or {}) do chain[#chain + 1] = w; end
		if per_event_wrappers[event] == nil and global_wrappers then
			for _, w in ipairs(global_wrappers) do chain[#chain + 1] = w; end
		elseif global_wrappers then
			local combined = {};
			for _, w in ipairs(global_wrappers) do combined[#combined + 1] = w; end
			for _, w in ipairs(chain) do combined[#combined + 1] = w; end
			chain = combined;
		end
		if #chain == 0 then return dispatch(event, data); end
		local depth = #chain + 1;
		local function proceed(e, d)
			depth = depth - 1;
			if depth == 0 then return dispatch(e, d); end
			return chain[depth](proceed, e, d);
		end
		return proceed(event, data);
	end

	local function add_wrapper(event, wrapper)
		local list;
		if event == false then
			global_wrappers = global_wrappers or {};
			list = global_wrappers;
		else
			list = per_event_wrappers[event];
			if not list then
				list = {};
				per_event_wrappers[event] = list;
			end
		end
		list[#list + 1] = wrapper;
	end

	local function remove_wrapper(event, wrapper)
		local list;
		if event == false then list = global_wrappers; else list = per_event_wrappers[event]; end
		if not list then return; end
		for i = #list, 1, -1 do
			if list[i] == wrapper then table.remove(list, i); end
		end
		if #list == 0 then
			if event == false then global_wrappers = nil; else per_event_wrappers[event] = nil; end
		end
	end

	local function set_debug_hook(hook)
		local previous = debug_hook;
		debug_hook = hook;
		return previous;
	end

	return {
		add_handler = add_handler;
		remove_handler = remove_handler;
		add_handlers = add_handlers;
		remove_handlers = remove_handlers;
		get_handlers = get_handlers;
		wrappers = { add_handler = add_wrapper, remove_handler = remove_wrapper };
		add_wrapper = add_wrapper;
		remove_wrapper = remove_wrapper;
		set_debug_hook = set_debug_hook;
		fire_event = fire_event;
		_handlers = handlers;
		_event_map = registrations;
	};
end

return { new = new };
