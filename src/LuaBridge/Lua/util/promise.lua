-- util.promise for LuaXmpp: Promises/A+-style promises as Prosody modules use them. Handlers
-- run synchronously when the promise settles (next_tick defaults to an immediate call).
local promise_methods = {};
local promise_mt = { __name = "promise", __index = promise_methods };

function promise_mt:__tostring()
	return "promise (" .. (self._state or "invalid") .. ")";
end

local function is_promise(value)
	return getmetatable(value) == promise_mt;
end

local next_tick = function(f) f(); end;

-- Builds the callback that feeds a handler's outcome into the next promise. Without a
-- handler the value passes through unchanged (fulfilment) or stays a rejection.
local function chain(handler, resolve, reject, passthrough)
	if not handler then return passthrough; end
	return function(value)
		local ok, result = xpcall(handler, debug.traceback, value);
		if ok then resolve(result); else reject(result); end
	end;
end

local function settle(p, state, field, value)
	if p._state ~= "pending" then return; end
	p._state = state;
	p[field] = value;
	local callbacks = state == "fulfilled" and p._on_fulfilled or p._on_rejected;
	p._on_fulfilled, p._on_rejected = nil, nil;
	for _, callback in ipairs(callbacks) do callback(value); end
end

local function resolver_pair(p)
	local done = false;
	local resolve_fn, reject_fn;
	function resolve_fn(value)
		if done then return; end
		done = true;
		if is_promise(value) then
			value:next(function(v) settle(p, "fulfilled", "value", v); end,
				function(e) settle(p, "rejected", "reason", e); end);
		else
			settle(p, "fulfilled", "value", value);
		end
	end
	function reject_fn(reason)
		if done then return; end
		done = true;
		settle(p, "rejected", "reason", reason);
	end
	return resolve_fn, reject_fn;
end

local function new(executor)
	local p = setmetatable({ _state = "pending", _on_fulfilled = {}, _on_rejected = {} }, promise_mt);
	if executor then
		next_tick(function()
			local resolve_fn, reject_fn = resolver_pair(p);
			local ok, err = xpcall(executor, debug.traceback, resolve_fn, reject_fn);
			if not ok then reject_fn(err); end
		end);
	end
	return p;
end

function promise_methods:next(on_fulfilled, on_rejected)
	return new(function(resolve_fn, reject_fn)
		local when_fulfilled = chain(on_fulfilled, resolve_fn, reject_fn, resolve_fn);
		local when_rejected = chain(on_rejected, resolve_fn, reject_fn, reject_fn);
		if self._state == "pending" then
			table.insert(self._on_fulfilled, when_fulfilled);
			table.insert(self._on_rejected, when_rejected);
		elseif self._state == "fulfilled" then
			when_fulfilled(self.value);
		else
			when_rejected(self.reason);
		end
	end);
end

function promise_methods:catch(on_rejected)
	return self:next(nil, on_rejected);
end

local function resolve(value)
	return new(function(resolve_fn) resolve_fn(value); end);
end

local function reject(reason)
	return new(function(_, reject_fn) reject_fn(reason); end);
end

function promise_methods:finally(on_finally)
	return self:next(function(value) on_finally(); return value; end,
		function(reason) on_finally(); return reject(reason); end);
end

-- Fulfils with a table of all results (same keys) or rejects with the first rejection.
local function all(promises)
	return new(function(resolve_fn, reject_fn)
		local results, pending, started = {}, 0, false;
		for key, p in pairs(promises) do
			if is_promise(p) then
				pending = pending + 1;
				p:next(function(value)
					results[key] = value;
					pending = pending - 1;
					if pending == 0 and started then resolve_fn(results); end
				end, reject_fn);
			else
				results[key] = p;
			end
		end
		started = true;
		if pending == 0 then resolve_fn(results); end
	end);
end

local function all_settled(promises)
	return new(function(resolve_fn)
		local results, pending, started = {}, 0, false;
		local function settled(key, outcome)
			results[key] = outcome;
			pending = pending - 1;
			if pending == 0 and started then resolve_fn(results); end
		end
		for key, p in pairs(promises) do
			if is_promise(p) then
				pending = pending + 1;
				p:next(function(value) settled(key, { status = "fulfilled", value = value }); end,
					function(reason) settled(key, { status = "rejected", reason = reason }); end);
			else
				results[key] = p;
			end
		end
		started = true;
		if pending == 0 then resolve_fn(results); end
	end);
end

local function join(handler, ...)
	local n = select("#", ...);
	return all({ ... }):next(function(results)
		return handler(table.unpack(results, 1, n));
	end);
end

local function race(promises)
	return new(function(resolve_fn, reject_fn)
		for i = 1, #promises do promises[i]:next(resolve_fn, reject_fn); end
	end);
end

local function try(f)
	return resolve():next(function() return f(); end);
end

return {
	new = new;
	resolve = resolve;
	reject = reject;
	join = join;
	all = all;
	all_settled = all_settled;
	race = race;
	try = try;
	is_promise = is_promise;
	set_nexttick = function(f) next_tick = f; end;
};
