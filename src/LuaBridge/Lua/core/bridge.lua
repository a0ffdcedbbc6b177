-- The Lua half of the bridge: event buses over the C# EventBus, session/host/bare tables that
-- reflect the C# SessionManager, and the entry points the C# runtime calls.
--
-- Dispatch design (contract §0.8): every chain that holds a Lua handler is walked here, in Lua,
-- so a Lua handler that yields (util.async) has no C# frame between it and its runner. C#
-- handlers in the chain are called one by one through N_events.fire_native. When Lua fires an event
-- the walk runs in the caller's coroutine (fire); when C# fires one, the C# bus hands the whole
-- chain to bridge.dispatch, which walks it inside a runner (see below).
local N_connections = require "luaxmpp.native.connections";
local N_events = require "luaxmpp.native.events";
local N_hosts = require "luaxmpp.native.hosts";
local N_log = require "luaxmpp.native.log";
local N_pending = require "luaxmpp.native.pending";
local N_routing = require "luaxmpp.native.routing";
local N_sessions = require "luaxmpp.native.sessions";
local C_events = require "luaxmpp.checked.events";
local C_routing = require "luaxmpp.checked.routing";

local type, pairs, next, setmetatable, rawget, rawset, select, tostring =
	type, pairs, next, setmetatable, rawget, rawset, select, tostring;
local xpcall, traceback, getmetatable = xpcall, debug.traceback, getmetatable;
local no_escape = require "core.escape".no_escape;

local bridge = {};

-- table → C# session id, for every table that stands for a C# Session (c2s sessions, hosts).
local sid_of = setmetatable({}, { __mode = "k" });
bridge.sid_of = sid_of;

---------------------------------------------------------------------------------------------
-- Event buses
---------------------------------------------------------------------------------------------

---------------------------------------------------------------------------------------------
-- Waiting for C#: natives whose work finishes later return (PENDING, id); C# calls
-- entry.complete(id, ...) with the results when it is done (LuaRuntime.Pending.cs).
---------------------------------------------------------------------------------------------

local async; -- util.async, loaded on first use
local PENDING = setmetatable({}, { __tostring = function() return "<pending>"; end });
local resume_of = {}; -- id → function(...) resuming the runner that waits for it

-- runner thread → false while it walks a chain whose C# caller cannot go on later (EventBus.Fire).
local may_wait_of = setmetatable({}, { __mode = "k" });

local function in_runner()
	if not async then async = require "util.async"; end
	return async.ready() and may_wait_of[coroutine.running()] ~= false;
end

local function wait_pending(id)
	local wait, done = async.waiter();
	local results;
	resume_of[id] = function(...) results = table.pack(...); done(); end;
	wait();
	return table.unpack(results, 1, results.n);
end

-- For storage and other I/O: inside any runner the runner suspends until the results are
-- there, also in a chain C# fired without being able to go on later (EventBus.Fire: the caller
-- then hears "handled" and the rest of the chain runs when the results are there, as after an
-- explicit util.async wait). Outside every runner (a session filter, a net.http callback,
-- entry.run) nothing can suspend and the loop never waits for a task: a write (no results but
-- success) goes on by itself and true is returned (a failure is logged when it ends); a read
-- raises an error naming the call, as its results cannot be had there.
local function any_runner()
	if not async then async = require "util.async"; end
	return async.ready();
end

local function await(first, ...)
	if first ~= PENDING then return first, ...; end
	local id = ...;
	if any_runner() then return wait_pending(id); end
	if N_pending.pending_detach(id) then return true; end
	-- Names the API function (keyval get, DBI Connect, ...) unless it tail-called us; the error's
	-- position is then the module's line that called it.
	local tail = debug.getinfo(1, "t").istailcall;
	local info = not tail and debug.getinfo(2, "n");
	local what = info and info.name and ("'" .. info.name .. "'") or "storage/database call";
	error(what .. " cannot wait outside an async runner (the loop would have to block); call it from "
		.. "a stanza or event handler, a timer, a module's load, or a util.async runner", 2);
end
bridge.await = await;

-- As bridge.await, but outside every runner the work goes on by itself and the caller gets
-- nil, message at once (modulemanager.load: the module loads later, nothing to raise about).
function bridge.await_or_detach(first, ...)
	if first ~= PENDING or any_runner() then return await(first, ...); end
	return nil, "still under way (it waits, and the caller is outside an async runner)";
end

-- For event handlers and routing passes: inside a runner it suspends until the pass is done;
-- outside one the pass goes on by itself and the caller is told "handled" (true) at once.
function bridge.await_handled(first, ...)
	if first ~= PENDING then return first, ...; end
	local id = ...;
	if in_runner() then return (wait_pending(id)); end
	return true;
end

-- For callback-style APIs (net.http): callback(...) with the native's results, now if they are
-- there, else when C# completes the work; nothing waits.
function bridge.when_done(callback, first, ...)
	if first ~= PENDING then return callback(first, ...); end
	resume_of[(...)] = callback;
end

local function complete(id, ...)
	local resume = resume_of[id];
	if not resume then return; end -- nobody waits (outside a runner): the work went on by itself
	resume_of[id] = nil;
	resume(...);
end

local await_handled = bridge.await_handled;

-- A native (C#) handler as Lua sees it in a chain: calling it runs the C# callback.
local native_stub_mt = {
	__call = function(stub, event) return await_handled(N_events.fire_native(stub.bus, stub.id, event)); end;
};

local chain_cache, cached_version = {}, -1;
-- C# bumps version whenever a watched bus's chain changes (no native call per fire).
local chain_state = { version = 0 };
bridge.chain_state = chain_state;

-- The chain for (bus, name): a list of Lua functions and native stubs, highest priority first.
local function get_chain(bus, name)
	local version = chain_state.version;
	if version ~= cached_version then
		chain_cache, cached_version = {}, version;
	end
	local per_bus = chain_cache[bus];
	if not per_bus then per_bus = {}; chain_cache[bus] = per_bus; end
	local chain = per_bus[name];
	if chain == nil then
		chain = N_events.chain(bus, name) or false;
		if chain then
			-- chain.natives: index → true for the C# entries (nil when there are none), so that
			-- a walk tells them apart with a table lookup instead of getmetatable per handler.
			local natives;
			for i = 1, #chain do
				local h = chain[i];
				if type(h) == "number" then
					chain[i] = setmetatable({ bus = bus, id = h }, native_stub_mt);
					natives = natives or {};
					natives[i] = true;
				end
			end
			chain.natives = natives;
			-- Whether no Lua handler of it can keep the event table (core.escape): then a walk
			-- C# resumed that met no C# handler may reuse the table of an event that comes back
			-- unchanged (C# runs those before the first and after the last Lua handler itself).
			local keeps_none = true;
			for i = 1, #chain do
				if not keeps_none then break; end
				if not (natives and natives[i]) then keeps_none = no_escape(chain[i]); end
			end
			chain.keeps_none = keeps_none;
		end
		per_bus[name] = chain;
	end
	return chain or nil;
end

-- Lua handler → the id of the module that hooked it (for error reports).
local owner_of = setmetatable({}, { __mode = "k" });

-- Wrappers (util.events add_wrapper): per bus, event name → list, and false → the list for every
-- event. Each wrapper is called as wrapper(next, name, event) and decides whether to call next.
local wrappers_of = {};

local function with_wrappers(bus, name, event, run)
	local per_bus = wrappers_of[bus];
	if not per_bus then return run(bus, name, event); end
	local lists = {};
	if per_bus[name] and #per_bus[name] > 0 then lists[#lists + 1] = per_bus[name]; end
	if per_bus[false] and #per_bus[false] > 0 then lists[#lists + 1] = per_bus[false]; end
	if #lists == 0 then return run(bus, name, event); end
	-- The newest wrapper of the event's own list is outermost; the global list wraps inside it.
	local list_i, wrapper_i = 1, #lists[1] + 1;
	local function nxt(ev_name, ev)
		wrapper_i = wrapper_i - 1;
		while wrapper_i == 0 do
			list_i = list_i + 1;
			local list = lists[list_i];
			if not list then return run(bus, ev_name, ev); end
			wrapper_i = #list;
		end
		return lists[list_i][wrapper_i](nxt, ev_name, ev);
	end
	return nxt(name, event);
end

local function fire_chain(bus, name, event)
	local chain = get_chain(bus, name);
	if not chain then return nil; end
	for i = 1, #chain do
		local ret = chain[i](event);
		if ret ~= nil then return ret; end
	end
	return nil;
end

local function fire(bus, name, event)
	if wrappers_of[bus] then return with_wrappers(bus, name, event, fire_chain); end
	return fire_chain(bus, name, event);
end
bridge.fire = fire;

---------------------------------------------------------------------------------------------
-- Dispatch of C#-fired events (contract §0.8)
--
-- A chain fired from C# that holds Lua handlers is walked here, inside a util.async runner, so
-- a Lua handler may wait. Stanza events of a c2s session use that session's runner
-- (session.thread, as Prosody's mod_c2s has one per session); everything else, and chains
-- fired while the session's runner is busy (nested dispatch, or a chain its waiting pass
-- fired), use a pooled one-shot runner. entry.dispatch returns whether the chain finished and
-- its result; a chain whose handler waits reports its end through dispatch_done, and the C#
-- caller (the router's pass) goes on then.
---------------------------------------------------------------------------------------------

-- event table → C# dispatch id, while that dispatch runs (removed when it ends; weak keys only
-- as a safety net for a walk that never ends, so the collector has next to nothing to visit).
local event_ids = setmetatable({}, { __mode = "k" });

-- What C# last saw of a C#-fired event table (issue 11: a stanza goes back to C# only if a
-- handler changed it). A snapshot is a flat list: the event's keys and values in next() order,
-- then, for event.stanza, each element's table, name, attr table, attributes (in next() order)
-- and children, depth first. Lua's next() order is stable while a table is unchanged, so one
-- walk comparing with rawequal finds any change (a set or removed attribute, an added,
-- removed or replaced child, a replaced stanza or field) without building anything. A table
-- field other than origin and stanza (stream features, disco replies, ...) may be changed in
-- place anywhere: such events are always copied back, as before.
-- Snapshots live in chain_state.snapshots (event table → snapshot), a plain table that C#
-- replaces when the loop finishes a work item (LuaRuntime.ReleaseEvents), as it releases the
-- event tables: a weak-keyed table would cost every garbage collection a pass over its entries.
-- An event whose snapshot is gone (a walk that waited) is simply read back.
chain_state.snapshots = {};

local function snap_element(node, s, n)
	local attr = node.attr;
	s[n + 1], s[n + 2], s[n + 3] = node, node.name, attr;
	n = n + 3;
	if type(attr) == "table" then
		for k, v in next, attr do s[n + 1], s[n + 2] = k, v; n = n + 2; end
	end
	local len = #node;
	s[n + 1], s[n + 2] = false, len; -- false: no attribute name is false
	n = n + 2;
	for i = 1, len do
		local child = node[i];
		if type(child) == "table" then n = snap_element(child, s, n);
		else s[n + 1] = child; n = n + 1; end
	end
	return n;
end

local function same_element(node, s, n)
	local attr = node.attr;
	if s[n + 1] ~= node or s[n + 2] ~= node.name or s[n + 3] ~= attr then return nil; end
	n = n + 3;
	if type(attr) == "table" then
		for k, v in next, attr do
			if s[n + 1] ~= k or s[n + 2] ~= v then return nil; end
			n = n + 2;
		end
	end
	local len = #node;
	if s[n + 1] ~= false or s[n + 2] ~= len then return nil; end
	n = n + 2;
	for i = 1, len do
		local child = node[i];
		if type(child) == "table" then
			n = same_element(child, s, n);
			if not n then return nil; end
		elseif s[n + 1] ~= child then
			return nil;
		else
			n = n + 1;
		end
	end
	return n;
end

-- util.stanza's lazy stanzas: an event's stanza from C# is converted on first touch
-- (StanzaMarshaller.PushLazy). One still lazy at the end of a walk is unchanged by definition;
-- one filled during the walk is compared with the snapshot taken when it was filled.
local lazy_mt;

function bridge.fill_lazy_stanza(t, id)
	N_events.stanza_fill(t, id);
	local snapshots = chain_state.snapshots;
	if snapshots[t] == nil then
		local s = {};
		s.n = snap_element(t, s, 0);
		snapshots[t] = s;
	end
end

-- Snapshots of event tables are recycled (most dispatches take one and drop it at once): each
-- table allocated per dispatch costs the collector, with Prosody's settings, several times
-- what filling it does. A recycled snapshot may hold stale values past its n; every compare
-- stops at its own markers first, so they are never read.
local spare_snapshots, spare_count = {}, 0;

local function recycle_snapshot(s)
	if spare_count < 16 then
		spare_count = spare_count + 1;
		spare_snapshots[spare_count] = s;
	end
end

-- Returns the snapshot, or false when the event has a table field that is not origin/stanza.
local function take_snapshot(event)
	local s = spare_snapshots[spare_count];
	if s then
		spare_snapshots[spare_count], spare_count = nil, spare_count - 1;
		s.lazy, s.stanza = nil, nil;
	else
		s = {};
	end
	local n = 0;
	for k, v in next, event do
		if type(v) == "table" and k ~= "origin" and k ~= "stanza" then
			recycle_snapshot(s);
			return false;
		end
		s[n + 1], s[n + 2] = k, v;
		n = n + 2;
	end
	s[n + 1] = false;
	n = n + 1;
	local stanza = rawget(event, "stanza");
	if type(stanza) == "table" then
		if lazy_mt == nil then lazy_mt = require "util.stanza"._lazy.mt; end
		if getmetatable(stanza) == lazy_mt then s.lazy = stanza;
		else n = snap_element(stanza, s, n); end
	end
	s.n = n;
	return s;
end

local function unchanged(event, s)
	if not s then return false; end
	local n = 0;
	for k, v in next, event do
		if s[n + 1] ~= k or s[n + 2] ~= v then return false; end
		n = n + 2;
	end
	if s[n + 1] ~= false then return false; end
	n = n + 1;
	local stanza = rawget(event, "stanza");
	if type(stanza) == "table" then
		if s.lazy == stanza then
			if getmetatable(stanza) ~= lazy_mt then
				local filled = chain_state.snapshots[stanza];
				if not filled or same_element(stanza, filled, 0) ~= filled.n then return false; end
			end
		else
			n = same_element(stanza, s, n);
			if not n then return false; end
		end
	end
	return n == s.n;
end

-- Whether C# must read the event back; afterwards the snapshot is taken again when needed.
local function changed_since_snapshot(event)
	local snapshots = chain_state.snapshots;
	local s = snapshots[event];
	if s == nil then return true; end
	snapshots[event] = nil;
	if not s then return true; end
	local same = unchanged(event, s);
	recycle_snapshot(s);
	return not same;
end

local function ensure_snapshot(event)
	local snapshots = chain_state.snapshots;
	local s = snapshots[event];
	local stanza = rawget(event, "stanza");
	if s == nil or (s and s.stanza ~= stanza) then
		if s then recycle_snapshot(s); end
		s = take_snapshot(event);
		if s then s.stanza = stanza; end
		snapshots[event] = s;
	end
end

-- Walks the chain calling each Lua handler under xpcall (an error is reported by C#: logged
-- with the module's name, an iq get/set answered with internal-server-error, chain stopped).
-- A C# handler that returns an unfinished Task suspends the walk until it completes. A C#
-- handler after Lua handlers gets the event read back only if they changed it.
-- The running handler is the local h (bridge.dispatch looks it up when a walk waits).
-- Its second result: whether nothing it called can keep the event table (chain.keeps_none, and
-- no C# handler met).
local function walk_chain(bus, name, event, first, last)
	-- get_chain's cached case inline (one call less per dispatch).
	local chain;
	if chain_state.version == cached_version then
		local per_bus = chain_cache[bus];
		if per_bus then chain = per_bus[name]; end
	end
	if chain == nil then chain = get_chain(bus, name); end
	if not chain then return nil; end
	local natives = chain.natives;
	local lua_ran, tracked = true, nil;
	local keeps_none = chain.keeps_none;
	if not last or last > #chain then last = #chain; end
	for i = first or 1, last do
		local h = chain[i];
		local ok, ret;
		if natives and natives[i] then
			if tracked == nil then tracked = event_ids[event] ~= nil; end
			local changed = lua_ran;
			if lua_ran and tracked then changed = changed_since_snapshot(event); end
			ret = await_handled(N_events.fire_native(h.bus, h.id, event, changed));
			if tracked then ensure_snapshot(event); end
			lua_ran, keeps_none = false, false;
		else
			ok, ret = xpcall(h, traceback, event);
			lua_ran = true;
			if not ok then return N_events.handler_failed(owner_of[h], name, ret, event), false; end
		end
		if ret ~= nil then return ret, keeps_none; end
	end
	return nil, keeps_none;
end

local function walk(bus, name, event, first, last)
	if wrappers_of[bus] then return (with_wrappers(bus, name, event, walk_chain)); end
	return (walk_chain(bus, name, event, first, last));
end
bridge.walk = walk;

local lazy_live; -- util.stanza's lazy handle → table (weak values): present while unfilled

-- C#'s slots for the event tables of the loop's current work item (slot → table): C# holds an
-- event by its slot (EventRef) instead of a registry reference, and clears them when the work
-- item ends (LuaRuntime.ReleaseEvents).
local live_events = {};
chain_state.live_events = live_events;

-- Whether an event bridge.dispatch made (only origin and stanza, the stanza lazy with handle)
-- is as it was made: the same two keys and values, and the stanza still lazy, or filled (by
-- the walk: fill_lazy_stanza took its snapshot) and not changed since. No snapshot is taken.
local function fresh_unchanged(event, origin, stanza, handle)
	-- Exactly the keys it was made with, with the same values (at most two: next() thrice).
	local k1, v1 = next(event);
	if k1 ~= nil then
		local k2, v2 = next(event, k1);
		if k2 ~= nil and next(event, k2) ~= nil then return false; end
		if k1 == "origin" then
			if v1 ~= origin or (k2 == nil and stanza ~= nil) or (k2 ~= nil and (k2 ~= "stanza" or v2 ~= stanza)) then return false; end
		elseif k1 == "stanza" then
			if v1 ~= stanza or (k2 == nil and origin ~= nil) or (k2 ~= nil and (k2 ~= "origin" or v2 ~= origin)) then return false; end
		else
			return false;
		end
	elseif origin ~= nil or stanza ~= nil then
		return false;
	end
	if stanza ~= nil and lazy_live[handle] ~= stanza then
		local filled = chain_state.snapshots[stanza];
		if not filled or same_element(stanza, filled, 0) ~= filled.n then return false; end
	end
	return true;
end

-- A walk C# fired (issue 11: no job table on this path). The runner's thread gets its
-- arguments straight from the resume; afterwards C# must read the event back if a handler
-- changed it: an event bridge.dispatch made (fresh) is compared with what it was made of, any
-- other with its snapshot. A walk that ends inside bridge.dispatch's resume leaves its outcome
-- in done_id/done_result/done_changed, one that ends later (after a wait: C# was told it waits)
-- reports through dispatch_done, so that the C# pass (router, delivery) goes on.
local resuming; -- the id of the dispatch whose resume is under way (nested ones restore it)

-- Event tables run_direct may reuse (issue 11: a table per dispatch costs the collector more
-- than making it): only ones no handler can have kept (core.escape) and that came back as they
-- were made (at most four of them).
local spare_events, spare_event_count = {}, 0;
local done_id, done_result, done_changed;

-- The lazy stanza for util.stanza's handle: its table is reused while it is unfilled (C# gives
-- the same handle then); only its handle, with util.stanza's lazy_mt, known to lazy_live.
local function lazy_stanza(handle)
	if not lazy_live then
		local lazy = require "util.stanza"._lazy;
		lazy_mt, lazy_live = lazy.mt, lazy.live;
	end
	local stanza = lazy_live[handle];
	if stanza == nil then
		stanza = setmetatable({ _lazy_id = handle }, lazy_mt);
		lazy_live[handle] = stanza;
	end
	return stanza;
end

-- A walk C# resumed the session runner's thread for itself (lua_resume, LuaRuntime.ResumeWalk;
-- issue 11: no protected call into bridge.dispatch and no resume from Lua). C# does so only
-- while the thread sits at its "ready" yield (it saw it get there, or bridge.dispatch told it).
-- The event is made here, as bridge.dispatch makes a fresh one. A walk that did not wait
-- returns changed (whether C# reads the event back) and the result, which the thread yields
-- with "ready"; one that waited (bridge.direct_waited set the state) reports through
-- dispatch_done.
local function run_direct(bus, name, id, may_wait, first, last, origin, handle, slot)
	local runner = rawget(origin, "thread");
	runner.state = "running";
	local stanza = lazy_live and lazy_live[handle];
	if stanza == nil then stanza = lazy_stanza(handle); end
	local event = spare_events[spare_event_count];
	if event then
		spare_events[spare_event_count], spare_event_count = nil, spare_event_count - 1;
		event.origin, event.stanza = origin, stanza;
	else
		event = { origin = origin, stanza = stanza };
	end
	live_events[slot] = event;
	may_wait_of[runner.thread] = may_wait;
	local result, keeps_none;
	if wrappers_of[bus] then result = with_wrappers(bus, name, event, walk_chain);
	else result, keeps_none = walk_chain(bus, name, event, first, last); end
	local changed;
	if chain_state.snapshots[event] ~= nil then changed = changed_since_snapshot(event);
	else changed = not fresh_unchanged(event, origin, stanza, handle); end
	if runner.state == "running" then
		runner.state = "ready";
		if keeps_none and not changed and spare_event_count < 4 and lazy_live[handle] == stanza then
			-- Nobody can hold the table, nothing changed it, its stanza is still lazy: the next
			-- walk reuses it. Its two keys stay (false, not nil: a key set to nil may be cleared
			-- by the collector, and refilling it could then grow the table), so it holds on to no
			-- session or stanza meanwhile and refilling allocates nothing. C# forgets its slot
			-- (0 instead of false: "unchanged, and no longer yours").
			event.origin, event.stanza = false, false;
			live_events[slot] = nil;
			spare_event_count = spare_event_count + 1;
			spare_events[spare_event_count] = event;
			return 0, result;
		end
		return changed and true or false, result;
	end
	if event_ids[event] == id then event_ids[event] = nil; end
	N_pending.dispatch_done(id, result, event, changed);
end

-- For a walk bus and name are strings; a job table comes alone (name is nil); a walk C#
-- resumed directly has event false (run_direct's arguments follow). Parameters, not
-- varargs: a vararg function copies its frame on every call.
local function run_job(bus, name, event, id, may_wait, first, last, outer_id, fresh, origin, stanza, handle, thread)
	if name == nil then return bus.run(bus); end
	-- C#'s arguments (ResumeWalk): bus, name, false, id, may_wait, first, last, origin, handle, slot.
	if event == false then return run_direct(bus, name, id, may_wait, first, last, outer_id, fresh, origin); end
	may_wait_of[thread or coroutine.running()] = may_wait;
	local result;
	if wrappers_of[bus] then result = with_wrappers(bus, name, event, walk_chain);
	else result = walk_chain(bus, name, event, first, last); end
	local changed;
	if not id then changed = true;
	elseif not fresh or chain_state.snapshots[event] ~= nil then changed = changed_since_snapshot(event);
	else changed = not fresh_unchanged(event, origin, stanza, handle); end
	if id ~= nil and resuming == id then
		done_id, done_result, done_changed = id, result, changed;
		return;
	end
	if id and event_ids[event] == id then event_ids[event] = outer_id; end
	N_pending.dispatch_done(id, result, event, changed);
end

local function run_packed(job)
	return run_job(job[1], job[2], job[3], job[4], job[5], job[6], job[7], job[8], job[9], job[10], job[11], job[12]);
end

local idle_runners = {};

local function one_shot_watchers()
	return {
		error = function(_, err) bridge.log("luaxmpp", "error", "Error in event dispatch: %s", err); end;
	};
end

local function take_runner()
	local r = idle_runners[#idle_runners];
	if r then idle_runners[#idle_runners] = nil; return r; end
	return async.runner(run_job, one_shot_watchers());
end

local our_runners = setmetatable({}, { __mode = "k" }); -- the session runners made here

local function session_runner(session)
	local r = rawget(session, "thread");
	if r and (our_runners[r] or (type(r) == "table" and r.run)) then return r; end
	local sid = sid_of[session];
	r = async.runner(run_job, {
		-- While a handler of this session waits, its input is paused (Prosody: conn:pause()).
		waiting = function() if sid then N_sessions.session_pause(sid, true); end end;
		ready = function() if sid then N_sessions.session_pause(sid, false); end end;
		error = function(_, err) bridge.log("luaxmpp", "error", "Error in session runner: %s", err); end;
	});
	our_runners[r] = true;
	rawset(session, "thread", r);
	return r;
end

-- Runs job.run(job) in a pooled runner, so that it may wait; true if it finished already.
local function run_pooled(job)
	if not async then async = require "util.async"; end
	local runner = take_runner();
	runner:run(job);
	if runner.state == "ready" then idle_runners[#idle_runners + 1] = runner; end
	return job.finished;
end

-- Timer callbacks (util.timer, module:add_timer) run in a runner, as Prosody's may, so they can
-- wait for storage: finished, ok, result; a timer that waited reports through timer_done.
local function run_timer(job)
	may_wait_of[coroutine.running()] = true;
	job.ok, job.result = xpcall(job[1], traceback, job[2]);
	job.finished = true;
	if job.pending then N_pending.timer_done(job[3], job.ok, job.result); end
end

function bridge.run_timer(f, now, id)
	local job = { f, now, id, run = run_timer };
	if run_pooled(job) then return true, job.ok, job.result; end
	job.pending = true;
	return false;
end

-- Module loading runs in a runner too (a module may read its stores while loading). A load that
-- finishes at once returns its outcome; one that waits (storage or SQL that is slow or locked)
-- suspends its runner while the loop goes on, and reports its end through load_done, which
-- completes the C# task the module manager awaits before it loads the next module (mod_pubsub's
-- module.load lists its nodes from storage and sets the `service` that pubsub_text_interface
-- reads as it loads). A load that waits past module_load_timeout is abandoned by C#
-- (entry.abandon_load): its instance is taken off the host at once and discarded whenever its
-- wait ends (LuaRuntime.Loading.cs).
local loads_waiting = {}; -- load id → job, while its runner waits

local function run_load(job)
	may_wait_of[coroutine.running()] = true;
	job.result = table.pack(xpcall(require "core.modulemanager"._bridge_load, traceback, job[1], job[2]));
	job.finished = true;
	if job.abandoned then
		bridge.log("modulemanager", "warn", "mod_%s on %s finished loading after the loader gave up on it; discarded", job[2], job[1]);
		require "core.modulemanager"._bridge_discard(job.abandoned);
		return;
	end
	if job.pending then
		loads_waiting[job[3]] = nil;
		local r = job.result;
		N_pending.load_done(job[3], r[1], r[2], r[3]);
	end
end

-- → finished, and when finished: ok (false: it raised), result, message, as xpcall of
-- modulemanager._bridge_load gives them.
function bridge.load_module(host, name, id)
	if not async then async = require "util.async"; end
	local job = { host, name, id, run = run_load };
	local runner = take_runner();
	runner:run(job);
	if runner.state == "ready" then idle_runners[#idle_runners + 1] = runner; end
	if not job.finished then
		job.pending = true;
		loads_waiting[id] = job;
		return false;
	end
	local r = job.result;
	return true, r[1], r[2], r[3];
end

-- C# gave up on a load that waited too long: the host forgets it now, and it is discarded when it ends.
function bridge.abandon_load(id)
	local job = loads_waiting[id];
	if not job then return; end
	loads_waiting[id] = nil;
	job.abandoned = require "core.modulemanager"._bridge_abandon(job[1], job[2]) or {};
end

local co_status, co_resume = coroutine.status, coroutine.resume;
local getinfo, getlocal = debug.getinfo, debug.getlocal;

-- The handler a runner's thread waits in: the local h of its innermost walk_chain frame (looked
-- up only when a walk waits, so that no walk records its running handler).
local function waiting_handler(thread)
	for level = 0, 200 do
		local info = getinfo(thread, level, "f");
		if not info then return nil; end
		if info.func == walk_chain then
			for i = 1, 32 do
				local k, v = getlocal(thread, level, i);
				if k == nil then return nil; end
				if k == "h" then return v; end
			end
			return nil;
		end
	end
	return nil;
end


-- A runner's walk that C# or bridge.dispatch resumed (not runner:run) waits, or raised: the
-- state changes and watchers util.async's runner:run makes.
local function runner_waits(runner)
	runner.state = "waiting";
	if runner.notified_state ~= "waiting" then
		runner.notified_state = "waiting";
		local watcher = runner.watchers.waiting;
		if watcher then watcher(runner); end
	end
end

local function runner_failed(runner, thread, err)
	if runner.thread == thread then runner.thread = nil; end
	runner.state = "ready";
	local watcher = runner.watchers.error;
	if watcher then watcher(runner, traceback(thread, err)); end
end

-- Walks chain entries first..last (C# runs the C# handlers before the first and after the last
-- Lua handler itself). session_stanza: C# says the event is a stanza of a live c2s session (its
-- runner is used). event is nil when C# leaves building it to Lua (an event of only origin and
-- stanza, seen by Lua for the first time): it is made here from origin and the handle of a lazy
-- stanza, and kept in live_events[slot] for the rest of the pass. Returns finished, result and
-- whether C# must read the event back (a handler changed it), then the event; when not
-- finished: false, nil, the module id of the handler that waits, and the event.
function bridge.dispatch(bus, name, event, id, may_wait, first, last, session_stanza, origin, stanza_handle, slot)
	if not async then async = require "util.async"; end
	local fresh = event == nil;
	local stanza, outer_id;
	if fresh then
		if stanza_handle then
			-- lazy_stanza inline (a call less per dispatch).
			if not lazy_live then lazy_stanza(stanza_handle); end
			stanza = lazy_live[stanza_handle];
			if stanza == nil then stanza = lazy_stanza(stanza_handle); end
		end
		if origin == nil and stanza == nil then event = {};
		else event = { origin = origin, stanza = stanza }; end
		-- Not in event_ids while the walk runs in this call: C# finds it by its slot. Only a
		-- walk that waits enters it (below), for C# handlers after the wait.
		if slot then live_events[slot] = event;
		elseif id then event_ids[event] = id; end
	else
		origin = event.origin;
		if id then
			outer_id = event_ids[event];
			event_ids[event] = id;
			ensure_snapshot(event);
		end
	end
	may_wait = may_wait ~= false;
	local runner, ours;
	if session_stanza and origin then
		-- A plain field read once the session has its runner (rawset there); before, the
		-- session table's __index makes it (special_get.thread).
		runner = origin.thread;
		ours = runner and our_runners[runner];
		if not ours then
			runner = sid_of[origin] and session_runner(origin);
			ours = runner and our_runners[runner];
		end
	end
	-- Only an idle session runner takes the walk: while it runs or waits, this chain is part of
	-- (or runs alongside) the pass it is in, and queueing behind that pass would deadlock when
	-- the pass waits for this very chain (message/bare waiting for message/offline/handle).
	-- The session's input stays in order without queueing: C# hands over the next stanza only
	-- when the current pass has finished.
	local pooled = not (runner and runner.state == "ready");
	if pooled then runner = take_runner(); end
	local previous = resuming;
	resuming, done_id = id, nil;
	-- A runner whose coroutine sits at its "ready" yield with nothing queued is resumed directly
	-- with the walk's arguments, with the same state changes and watchers as util.async's
	-- runner:run (used otherwise, with a job table: first use, a queue, a dead thread); most
	-- chains do not wait, and this saves the queue handling on each. A "ready" runner's thread
	-- is suspended at its ready yield (util.async sets "ready" only then, and drops a thread that
	-- died); the status is checked only when the state says otherwise.
	local thread = runner.thread;
	if not thread or runner.queue[1] ~= nil or (runner.state ~= "ready" and co_status(thread) ~= "suspended") then
		runner:run({ bus, name, event, id, may_wait, first, last, outer_id, fresh, origin, stanza, stanza_handle, run = run_packed });
	else
		runner.state = "running";
		local ok, yielded = co_resume(thread, bus, name, event, id, may_wait, first, last, outer_id, fresh, origin, stanza, stanza_handle, thread);
		if not ok then
			runner_failed(runner, thread, yielded);
		elseif yielded == "wait" then
			runner_waits(runner);
		else
			-- An idle runner was told "ready" already (util.async notifies on changes only).
			runner.state = "ready";
		end
	end
	resuming = previous;
	-- The session runner's thread, if C# may resume it itself from now on (ResumeWalk): it
	-- took this walk and is back at its "ready" yield (util.async's invariant for "ready";
	-- its queue was empty or has been run).
	local idle;
	if pooled then
		if runner.state == "ready" then idle_runners[#idle_runners + 1] = runner; end
	elseif ours and runner.state == "ready" then
		idle = runner.thread;
	end
	if done_id ~= nil and done_id == id then
		local result, changed = done_result, done_changed;
		done_id, done_result = nil, nil;
		if not (fresh and slot) and event_ids[event] == id then event_ids[event] = outer_id; end
		return true, result, changed, event, idle;
	end
	if fresh and slot and id then event_ids[event] = id; end
	thread = runner.thread;
	local waiting = thread and waiting_handler(thread);
	return false, nil, waiting and owner_of[waiting] or nil, event, idle;
end
bridge.event_ids = event_ids;

-- A walk C# resumed directly (run_direct) waits: the runner's state and watchers as
-- util.async's runner:run sets them, the event entered in event_ids for C# handlers after the
-- wait. Returns the module id of the handler that waits.
function bridge.direct_waited(origin, id, slot)
	local runner = rawget(origin, "thread");
	runner_waits(runner);
	local event = live_events[slot];
	if event ~= nil then event_ids[event] = id; end
	local waiting = runner.thread and waiting_handler(runner.thread);
	return waiting and owner_of[waiting] or nil;
end

-- A walk C# resumed directly raised outside the handlers' xpcall: as util.async does, the
-- runner drops its thread and tells its error watcher.
function bridge.direct_failed(origin, thread, err)
	runner_failed(rawget(origin, "thread"), thread, err);
end

local buses = {};

local function new_bus(bus)
	local ids = {}; -- name → handler → id
	local obj = {};

	local function add(name, handler, priority, owner)
		local per_name = ids[name];
		if not per_name then per_name = {}; ids[name] = per_name; end
		local old = per_name[handler];
		if old then N_events.unhook(old); end -- util.events keeps one entry per handler
		per_name[handler] = C_events.hook(bus, name, handler, priority or 0, owner);
		if owner then owner_of[handler] = owner; end
		return true;
	end

	function obj.add_handler(name, handler, priority) return add(name, handler, priority, nil); end
	-- For module:hook: the owner lets C# drop the module's handlers on unload.
	obj._add_owned_handler = add;
	function obj.remove_handler(name, handler)
		local per_name = ids[name];
		local id = per_name and per_name[handler];
		if not id then return nil; end
		per_name[handler] = nil;
		N_events.unhook(id);
		return true;
	end
	function obj.fire_event(name, event) return fire(bus, name, event); end
	function obj.get_handlers(name) return get_chain(bus, name); end
	function obj.add_handlers(handlers, priority)
		for name, handler in pairs(handlers) do add(name, handler, priority); end
	end
	function obj.remove_handlers(handlers)
		for name, handler in pairs(handlers) do obj.remove_handler(name, handler); end
	end

	-- Wrappers (util.events): add_wrapper(name, w), or add_wrapper(false, w) for every event.
	-- A wrapper on a named event also hooks a handler that does nothing, so that chains fired
	-- from C# come through Lua (bridge.dispatch) where the wrappers run.
	local wrap_markers = {};
	local function wrap_marker() return nil; end
	function obj.add_wrapper(name, wrapper)
		if type(name) == "function" and wrapper == nil then name, wrapper = false, name; end
		local per_bus = wrappers_of[bus];
		if not per_bus then
			per_bus = {};
			wrappers_of[bus] = per_bus;
			N_routing.bus_wrapped(bus); -- C# then hands this bus's chains to Lua whole (wrappers wrap them all)
		end
		local list = per_bus[name];
		if not list then list = {}; per_bus[name] = list; end
		list[#list + 1] = wrapper;
		if name and not wrap_markers[name] then
			wrap_markers[name] = true;
			add(name, wrap_marker, -math.huge);
		end
		return true;
	end
	function obj.remove_wrapper(name, wrapper)
		if type(name) == "function" and wrapper == nil then name, wrapper = false, name; end
		local list = wrappers_of[bus] and wrappers_of[bus][name];
		if not list then return nil; end
		for i = #list, 1, -1 do
			if list[i] == wrapper then table.remove(list, i); end
		end
		if #list == 0 and name and wrap_markers[name] then
			wrap_markers[name] = nil;
			obj.remove_handler(name, wrap_marker);
		end
		return true;
	end
	obj.wrappers = { add_handler = obj.add_wrapper, remove_handler = obj.remove_wrapper };
	-- mod_csi reads events._handlers[name] to see whether anything listens.
	obj._handlers = setmetatable({}, { __index = function(_, name) return get_chain(bus, name); end });
	return obj;
end

local function get_bus(name)
	local b = buses[name];
	if not b then b = new_bus(name); buses[name] = b; end
	return b;
end
bridge.get_bus = get_bus;
bridge.global_events = get_bus("*");

---------------------------------------------------------------------------------------------
-- Sessions
---------------------------------------------------------------------------------------------

-- Session fields (docs/BRIDGE.md lists each field and where it lives). These have their one
-- copy in C# (ClientSession, BareSession, RosterManager): reads and writes go through
-- __index/__newindex, so both sides always agree. Everything else lives only in the Lua table.
local synced = {
	type = true, host = true, username = true, resource = true, full_jid = true,
	priority = true, interested = true, destroyed = true,
	ip = true, secure = true, encrypted = true, streamid = true, roster = true, auth_mechanism = true,
	-- s2s sessions (src/Core/S2s/S2sSession.cs)
	from_host = true, to_host = true, direction = true, cert_chain_status = true, cert_identity_status = true,
};

-- session.presence: when Lua sets it, the Lua stanza is the only copy (modules change it in
-- place, e.g. mod_presence stamps a delay after storing it); C# knows only that it is set and
-- reads it through entry.held_presence when it needs the element.
local held_presence = setmetatable({}, { __mode = "k" });

-- One proxy per identity while Lua holds it; a finalizer lets C# drop its side once the last
-- proxy for an id is collected (a new proxy for the same id may exist before the old one's
-- finalizer runs, hence the count).
local function proxy_factory(mt, release)
	local cache = setmetatable({}, { __mode = "v" });
	local live = {};
	mt.__gc = function(t)
		local id = rawget(t, "_id");
		local n = (live[id] or 1) - 1;
		if n > 0 then live[id] = n; return; end
		live[id] = nil;
		release(id);
	end;
	return function(id)
		local p = cache[id];
		if p then return p; end
		p = setmetatable({ _id = id }, mt);
		cache[id] = p;
		live[id] = (live[id] or 0) + 1;
		return p;
	end;
end

-- conn: one table per C# connection (Prosody's conn is a per-socket object, used as a table key
-- by modules); session.conn reads and sets ClientSession.Connection, so mod_smacks moving a
-- conn onto the resumed session moves the socket in C# too.
local conn_methods = {};
local conn_mt = { __index = conn_methods };
function conn_methods:ip() return N_connections.conn_info(self._id, "ip"); end
function conn_methods:close() return N_connections.conn_close(self._id); end
function conn_methods:write(data) return N_connections.conn_write(self._id, data); end
function conn_methods:ssl() return N_connections.conn_info(self._id, "secure"); end
-- TLS is native: no LuaSec details (so no channel binding data for Lua SASL profiles).
function conn_methods:ssl_info() if self:ssl() then return {}; end end
function conn_methods:setoption() return true; end
function conn_methods:pause() end
function conn_methods:resume() end
-- Prosody's net.server_epoll write lock (mod_csi_simple) and read pacing (mod_limits), done by
-- the C# connection: held bytes count against its output bounds.
function conn_methods:pause_writes() return N_connections.conn_control(self._id, "pause_writes"); end
function conn_methods:resume_writes() return N_connections.conn_control(self._id, "resume_writes"); end
function conn_methods:setlimit(Bps) return N_connections.conn_control(self._id, "setlimit", tonumber(Bps) or 0); end
function conn_methods:socket() return { info = function() return nil; end }; end
bridge.proxy_factory = proxy_factory;
local conn_proxy = proxy_factory(conn_mt, function(id) N_connections.conn_release(id); end);

-- session.directed: a set proxy over ClientSession.Directed (directed presence, RFC 6121 §4.6).
local directed_mt = {
	__index = function(t, jid) if type(jid) == "string" and N_connections.directed(rawget(t, "_sid"), "get", jid) then return true; end end;
	__newindex = function(t, jid, value)
		if type(jid) == "string" then N_connections.directed(rawget(t, "_sid"), value and "add" or "remove", jid); end
	end;
	__pairs = function(t)
		local list = N_connections.directed(rawget(t, "_sid"), "list") or {};
		local i = 0;
		return function()
			i = i + 1;
			if list[i] then return list[i], true; end
		end, t, nil;
	end;
};
local directed_of = setmetatable({}, { __mode = "k" });

local special_get = {
	-- Prosody's mod_c2s gives every session its runner at creation; here it is made on first use.
	thread = function(s) return session_runner(s); end;
	presence = function(s, sid)
		local v = N_sessions.session_get(sid, "presence");
		if v == true then return held_presence[s]; end
		return v;
	end;
	conn = function(_, sid)
		local cid = N_sessions.session_get(sid, "conn");
		return cid and conn_proxy(cid) or nil;
	end;
	directed = function(s, sid)
		local d = directed_of[s];
		if not d then d = setmetatable({ _sid = sid }, directed_mt); directed_of[s] = d; end
		return d;
	end;
};

local special_set = {
	presence = function(s, sid, value)
		held_presence[s] = value;
		N_sessions.session_set(sid, "presence", value ~= nil);
	end;
	conn = function(_, sid, value)
		N_sessions.session_set(sid, "conn", type(value) == "table" and rawget(value, "_id") or nil);
	end;
	directed = function(_, sid, value)
		N_connections.directed(sid, "clear");
		if type(value) == "table" then
			for jid in pairs(value) do N_connections.directed(sid, "add", jid); end
		end
	end;
};

-- The fields Lua reads most (on every stanza: origin.type, origin.username, ...) are copied
-- here by C# whenever they change (Session.IdentityChanged → LuaRuntime.MirrorIdentity):
-- sid → { type, host, username, resource, full_jid, destroyed }. C# stays their owner; a read
-- costs a table lookup instead of a native call, a write still goes to C# (__newindex).
local session_fields = {};
local mirrored = { type = true, host = true, username = true, resource = true, full_jid = true, destroyed = true };

local session_mt = {
	__index = function(s, key)
		local sid = sid_of[s];
		if not sid then return nil; end
		if mirrored[key] then
			local fields = session_fields[sid];
			if fields then return fields[key]; end
		end
		if synced[key] then return N_sessions.session_get(sid, key); end
		local get = special_get[key];
		if get then return get(s, sid); end
		return nil;
	end;
	__newindex = function(s, key, value)
		local sid = sid_of[s];
		if sid then
			if synced[key] then N_sessions.session_set(sid, key, value); return; end
			local set = special_set[key];
			if set then set(s, sid, value); return; end
		end
		rawset(s, key, value);
	end;
};

-- Filters (contract §3.4) come from util.filters. C# is told when a session first gets a
-- "stanzas/in", "stanzas/out" or "bytes/in" chain, and only then runs the Lua chain for that
-- session's elements (ClientSession.IncomingFilters / OutgoingFilters; "bytes/in" gets each
-- element's text); sessions without Lua filters never enter Lua for them.
local filters_lib = require "util.filters";

local native_filtered = { ["stanzas/in"] = true, ["stanzas/out"] = true, ["bytes/in"] = true };

local function initialize_filters(session, sid)
	local filter = filters_lib.initialize(session);
	local lists = session.filters;
	setmetatable(lists, {
		__newindex = function(t, kind, chain)
			rawset(t, kind, chain);
			if native_filtered[kind] then N_sessions.session_filters(sid, kind); end
		end;
	});
	for kind in pairs(lists) do
		if native_filtered[kind] then N_sessions.session_filters(sid, kind); end
	end
	return filter;
end

local st; -- util.stanza, on first close with a stanza reason

-- Prosody's mod_c2s session_close: pre-session-close (a handler may change the reason), the
-- stream error (a condition string, a stanza, or {condition, text, extra}), then the session is
-- destroyed and its connection closed; sending afterwards returns false.
local function close_session(session, sid, reason)
	local payload = { session = session, reason = reason };
	get_bus(session.host).fire_event("pre-session-close", payload);
	reason = payload.reason;
	local condition, text, raw;
	if type(reason) == "string" then
		condition = reason;
	elseif type(reason) == "table" then
		if not st then st = require "util.stanza"; end
		if st.is_stanza(reason) then
			raw = tostring(reason);
		elseif reason.extra then
			local e = st.stanza("stream:error")
				:tag(reason.condition or "undefined-condition", { xmlns = "urn:ietf:params:xml:ns:xmpp-streams" }):up();
			if reason.text then e:tag("text", { xmlns = "urn:ietf:params:xml:ns:xmpp-streams" }):text(reason.text):up(); end
			e:add_child(reason.extra);
			raw = tostring(e);
		else
			condition, text = reason.condition, reason.text;
		end
	end
	local conn = raw and session.conn;
	if conn then N_connections.conn_write(rawget(conn, "_id"), raw); end
	local reason_text = type(reason) == "table" and (reason.name or reason.text or reason.condition) or reason or nil;
	N_sessions.session_close(sid, condition, text, reason_text and tostring(reason_text) or nil);
	session.send = function() return false; end;
	return true;
end

local function new_session(sid, logname)
	local session = setmetatable({}, session_mt);
	sid_of[session] = sid;
	session.id = logname;
	session.base_type = "c2s";
	session.log = function(level, fmt, ...) return bridge.log(logname, level, fmt, ...); end;
	-- The parser of this session's connection (Prosody's session.stream). mod_smacks moves it to
	-- the session it resumes and calls stream:set_session(orig): the connection's further input
	-- is then handled as orig's (C# ClientStreamHandler follows ClientSession.MovedTo).
	session.stream = {
		set_session = function(_, target)
			local target_sid = sid_of[target];
			if target_sid and target_sid ~= sid then N_connections.session_adopt(sid, target_sid); end
		end;
	};

	local filter = initialize_filters(session, sid);

	-- send/rawsend are real closures over `session`, `filter` and `conn`, so mod_smacks can
	-- rebind them through the function metatable on resume (contract §3.7).
	local conn = session.conn;
	local function rawsend(t)
		local c = conn;
		if not c then return false; end
		t = session.filter("bytes/out", tostring(t));
		if t == nil then return true; end
		return N_connections.conn_write(rawget(c, "_id"), t);
	end
	local function send(t)
		-- A lazy stanza (a MAM result page built in C#) is sent without being filled: t.name
		-- alone would turn it into Lua tables.
		if type(t) == "table" and (rawget(t, "_lazy_id") ~= nil or t.name) then
			t = filter("stanzas/out", t);
			if t == nil then return true; end
			local id = sid_of[session];
			if not id then return false; end
			return N_sessions.session_send(id, t);
		end
		return rawsend(t);
	end
	session.rawsend = rawsend;
	session.send = send;
	session.close = function(self, reason)
		if type(self) ~= "table" or not sid_of[self] then self = session; end
		return close_session(self, sid_of[self], reason);
	end;
	return session;
end

-- Bare sessions: bare_sessions["u@h"] == hosts[h].sessions[u] (contract §3.6).
-- A bare session's facts are read from C# on each access (BareSession): sessions is a fresh
-- plain table resource → session (modules call next() on it, which a proxy cannot answer),
-- top_resources is derived from each session's presence and priority, roster is the account's
-- roster proxy. Assignments to them are ignored: mod_presence's recalc_resource_map would only
-- store the same list again.
local function bare_resources(bare)
	local list = N_sessions.bare_resources(bare) or {};
	local map = {};
	for i = 1, #list, 2 do map[list[i]] = list[i + 1]; end
	return map;
end

local bare_mt = {
	__index = function(t, key)
		local bare = rawget(t, "_jid");
		if key == "sessions" then return bare_resources(bare); end
		if key == "top_resources" or key == "roster" then return N_connections.bare_get(bare, key); end
	end;
	__newindex = function(t, key, value)
		if key == "sessions" or key == "top_resources" or key == "roster" then return; end
		rawset(t, key, value);
	end;
};

local function new_bare(bare)
	return setmetatable({ _jid = bare }, bare_mt);
end

bridge.full_sessions = setmetatable({}, {
	__index = function(_, jid) if type(jid) == "string" then return N_sessions.full_session(jid); end end;
	__pairs = function()
		local list = N_sessions.full_list() or {};
		local map = {};
		for i = 1, #list, 2 do map[list[i]] = list[i + 1]; end
		return next, map, nil;
	end;
});

bridge.bare_sessions = setmetatable({}, {
	__index = function(_, bare) if type(bare) == "string" then return N_sessions.bare_session(bare); end end;
	__pairs = function()
		local list = N_sessions.bare_list(nil) or {};
		local map = {};
		for i = 1, #list, 2 do map[list[i]] = list[i + 1]; end
		return next, map, nil;
	end;
});

---------------------------------------------------------------------------------------------
-- Hosts
---------------------------------------------------------------------------------------------

local function new_host(name, kind, sid)
	-- s2sout stays empty: there are no server-to-server connections yet.
	local host = { host = name, type = kind, events = get_bus(name), modules = {}, s2sout = {} };
	sid_of[host] = sid;
	if kind == "local" then
		host.sessions = setmetatable({}, {
			__index = function(_, user) if type(user) == "string" then return N_sessions.bare_session(user .. "@" .. name); end end;
			__pairs = function()
				local list = N_sessions.bare_list(name) or {};
				local map = {};
				for i = 1, #list, 2 do map[list[i]:match("^[^@]*")] = list[i + 1]; end
				return next, map, nil;
			end;
		});
		host.users = { name = N_sessions.auth_name(name) };
	end
	host.send = function(stanza) return await_handled(N_routing.route(host, stanza)); end;
	return host;
end

bridge.hosts = setmetatable({}, {
	__index = function(t, name)
		if type(name) ~= "string" then return nil; end
		local kind, sid = N_hosts.host_info(name);
		if not kind then return nil; end
		local host = new_host(name, kind, sid);
		rawset(t, name, host);
		return host;
	end;
	__pairs = function(t)
		for _, name in pairs(N_hosts.host_list() or {}) do local _ = t[name]; end
		return next, t, nil;
	end;
});

---------------------------------------------------------------------------------------------
-- Routing and logging
---------------------------------------------------------------------------------------------

-- A pass that waits suspends the calling runner until it has finished, as in Prosody, where
-- the nested pass runs in the caller's coroutine; outside a runner it goes on by itself.
function bridge.core_post_stanza(origin, stanza, preevents) return await_handled(C_routing.post(origin, stanza, not not preevents)); end
function bridge.core_process_stanza(origin, stanza) return await_handled(C_routing.process(origin, stanza)); end
function bridge.core_route_stanza(origin, stanza) return await_handled(C_routing.route(origin, stanza)); end

-- util.format semantics when available (never raises); a tolerant fallback otherwise.
local format;
local function get_format()
	if format == nil then
		local ok, f = pcall(require, "util.format");
		format = ok and type(f) == "table" and f.format or false;
	end
	return format;
end

function bridge.log(source, level, fmt, ...)
	-- A disabled level costs one native call, not the formatting (debug logs on the hot path).
	if not N_log.log_enabled(level) then return; end
	local message = fmt;
	if select("#", ...) > 0 or type(fmt) ~= "string" then
		local f = get_format();
		if f then
			message = f(fmt, ...);
		else
			local args = table.pack(...);
			for i = 1, args.n do
				local a = args[i];
				if type(a) ~= "number" then args[i] = tostring(a); end
			end
			local ok, text = pcall(string.format, tostring(fmt), table.unpack(args, 1, args.n));
			message = ok and text or tostring(fmt);
		end
	end
	N_log.log(source, tostring(level), tostring(message));
end

---------------------------------------------------------------------------------------------
-- Entry points for C#
---------------------------------------------------------------------------------------------

local entry = {};
bridge.entry_points = entry;
entry.sid_of = sid_of;
entry.new_session = new_session;
entry.new_bare = new_bare;
entry.conn_proxy = conn_proxy;
entry.roster_proxy = function(rid) return require "core.rostermanager"._proxy(rid); end;
-- The Lua-held session.presence, for C# (ClientSession.Presence when Lua set it).
function entry.held_presence(session) return held_presence[session]; end
entry.dispatch = bridge.dispatch;
entry.direct_waited = bridge.direct_waited;
entry.direct_failed = bridge.direct_failed;
entry.event_ids = event_ids;
entry.chain_state = chain_state;
entry.session_fields = session_fields;
entry.PENDING = PENDING;
entry.complete = complete;

-- session.filter(kind, data) for C# (stanzas/in and stanzas/out of C#-handled traffic).
function entry.filter(session, kind, data) return session.filter(kind, data); end

-- Calls a handler with a traceback on error: returns ok, result.
function entry.call_handler(handler, event)
	return xpcall(handler, traceback, event);
end

-- Calls any function with a traceback on error: returns ok, ... .
function entry.call(f, ...)
	return xpcall(f, traceback, ...);
end

function entry.load_module(host, name, id)
	return bridge.load_module(host, name, id);
end
function entry.abandon_load(id) return bridge.abandon_load(id); end
entry.run_timer = bridge.run_timer;

-- A module's unload runs in a runner too: one that waits (it saves to storage) goes on there,
-- and the module counts as unloaded at once.
local function run_unload(job)
	job.result = table.pack(xpcall(require "core.modulemanager"._bridge_unload, traceback, job[1], job[2]));
	job.finished = true;
end

function entry.unload_module(host, name)
	local job = { host, name, run = run_unload };
	if not run_pooled(job) then return true; end
	local r = job.result;
	if not r[1] then error(r[2], 0); end
	return r[2];
end

-- t[k] with metamethods, for C# (which only calls it under pcall).
function entry.index(t, k) return t[k]; end

-- → stanza_mt, lazy_mt, lazy_live; installs the lazy stanzas' filler (issue 11).
function entry.stanza_mt()
	local ok, st = pcall(require, "util.stanza");
	if not (ok and type(st) == "table") then return nil; end
	local lazy = st._lazy;
	if not lazy then return st.stanza_mt; end
	lazy.set_filler(bridge.fill_lazy_stanza);
	return st.stanza_mt, lazy.mt, lazy.live;
end

-- Runs a chunk of Lua (tests, diagnostics) in the global environment.
function entry.run(text, chunkname)
	local f, err = load(text, chunkname or "=run", "t");
	if not f then return false, err; end
	return xpcall(f, traceback);
end

return bridge;
