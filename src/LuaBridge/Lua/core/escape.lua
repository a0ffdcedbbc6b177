-- Whether a Lua event handler can keep its event table (issue 11: event tables are reused).
--
-- Prosody makes a fresh event table per fire, so a handler may keep it (store it, capture it in
-- a closure, pass it on to code that does). core.bridge reuses the table of a C#-fired event
-- only when every handler of the chain provably cannot: no_escape(f) reads f's own bytecode
-- (string.dump, stripped) and answers true only if its first parameter's register is used as
-- nothing but the table of a field read or write (event.x, event[k], event.x = v), a test
-- (if event), a compare with a constant, or is overwritten. Any other use — a move to another
-- register (an argument, event:method(), return event), a store into a table or an upvalue, a
-- capture by a closure, a compare or arithmetic that may reach a metamethod — or anything this
-- file does not understand (a C function, a vararg function, a callable table, an unknown
-- bytecode format or opcode) answers false, and that chain's events stay fresh tables. The debug
-- library (debug.getlocal on the handler's frame) is the one way around this it does not see.
local string_dump, byte, pcall, type = string.dump, string.byte, pcall, type;

-- Lua 5.4's opcodes (lopcodes.h), by number; what makes a use of register 0 an escape.
local MOVE, SETUPVAL, GETTABLE, SETTABUP, SETTABLE, SETI, SETFIELD, SELF = 0, 10, 12, 15, 16, 17, 18, 20;
local ADDI, SHLI, ADD, SHR, MMBIN, MMBINI, MMBINK = 21, 33, 34, 45, 46, 47, 48;
local UNM, BNOT, NOT, LEN, CONCAT, TBC = 49, 50, 51, 52, 53, 55;
local EQ, LT, LE, LTI, GEI, TESTSET, CALL, TAILCALL = 57, 58, 59, 62, 65, 67, 68, 69;
local RETURN, RETURN1, FORLOOP, TFORLOOP, CLOSURE, EXTRAARG = 70, 72, 73, 77, 79, 82;

-- Whether the instruction (op, a, k, b, c) lets register 0's value go anywhere.
local function escapes(op, a, k, b, c)
	if op == MOVE or op == TESTSET then return b == 0; end
	if op == SETUPVAL or op == CONCAT or op == TBC or op == CALL or op == TAILCALL or op == RETURN1 then return a == 0; end
	if op == GETTABLE then return c == 0; end -- as a key: an __index function would get it
	if op == SETTABUP or op == SETI or op == SETFIELD then return k == 0 and c == 0; end
	if op == SETTABLE or op == SELF then return b == 0 or (k == 0 and c == 0); end
	if op >= ADDI and op <= SHLI then return b == 0; end
	if op >= ADD and op <= SHR then return b == 0 or c == 0; end
	if op == MMBIN or op == EQ or op == LT or op == LE then return a == 0 or b == 0; end
	if op == MMBINI or op == MMBINK then return a == 0; end
	if op == UNM or op == BNOT or op == LEN then return b == 0; end
	if op >= LTI and op <= GEI then return a == 0; end
	if op == RETURN then return a == 0 and b ~= 1; end
	if op >= FORLOOP and op <= TFORLOOP then return a == 0; end
	return op > EXTRAARG; -- an opcode this file does not know
end

-- A reader over a stripped dump (ldump.c): returns nil, reason on anything unexpected.
local function reader(s)
	local pos = 1;
	local r = {};
	function r.byte()
		local b = byte(s, pos);
		if not b then error("truncated", 0); end
		pos = pos + 1;
		return b;
	end
	function r.size() -- MSB first, 7 bits a byte, the last byte marked with 0x80
		local x = 0;
		for _ = 1, 10 do
			local b = r.byte();
			if b >= 0x80 then return x * 128 + (b - 0x80); end
			x = x * 128 + b;
		end
		error("bad size", 0);
	end
	function r.skip(n)
		pos = pos + n;
		if pos > #s + 1 then error("truncated", 0); end
	end
	function r.string()
		local n = r.size();
		if n > 0 then r.skip(n - 1); end
	end
	function r.u32()
		local b1, b2, b3, b4 = byte(s, pos, pos + 3);
		if not b4 then error("truncated", 0); end
		pos = pos + 4;
		return b1 + b2 * 0x100 + b3 * 0x10000 + b4 * 0x1000000;
	end
	function r.at_end() return pos == #s + 1; end
	return r;
end

-- Reads one function prototype; returns its header and, for the caller's check, whether its
-- own register 0 escapes (top) and whether a nested closure captures the parent's register 0.
local function read_proto(r, top)
	r.string(); -- source (stripped: empty)
	r.size(); r.size(); -- linedefined, lastlinedefined
	local numparams, is_vararg = r.byte(), r.byte();
	r.byte(); -- maxstacksize
	local escaped = top and is_vararg ~= 0;
	local ncode = r.size();
	for _ = 1, ncode do
		local i = r.u32();
		if top and not escaped then
			local op = i % 128;
			local a = (i // 128) % 256;
			local k = (i // 32768) % 2;
			local b = (i // 65536) % 256;
			local c = (i // 16777216) % 256;
			if escapes(op, a, k, b, c) then escaped = true; end
		end
	end
	for _ = 1, r.size() do -- constants
		local t = r.byte();
		if t == 3 or t == 19 then r.skip(8); -- integer, float
		elseif t == 4 or t == 20 then r.string(); -- short, long string
		elseif t ~= 0 and t ~= 1 and t ~= 17 then error("bad constant", 0); end -- nil, false, true
	end
	local captures0 = false;
	for _ = 1, r.size() do -- upvalues: instack, idx, kind
		local instack, idx = r.byte(), r.byte();
		r.byte();
		if instack == 1 and idx == 0 then captures0 = true; end
	end
	for _ = 1, r.size() do -- nested functions
		local _, nested_captures0 = read_proto(r, false);
		if top and nested_captures0 then escaped = true; end
	end
	r.skip(r.size()); -- lineinfo
	for _ = 1, r.size() do r.size(); r.size(); end -- abslineinfo
	for _ = 1, r.size() do r.string(); r.size(); r.size(); end -- locvars
	for _ = 1, r.size() do r.string(); end -- upvalue names
	return escaped, captures0, numparams;
end

local function analyse(f)
	local ok, dump = pcall(string_dump, f, true);
	if not ok then return false; end
	local r = reader(dump);
	local ok2, escaped = pcall(function()
		if r.u32() ~= 0x61754c1b or r.byte() ~= 0x54 or r.byte() ~= 0 then error("not a Lua 5.4 dump", 0); end
		r.skip(6); -- LUAC_DATA
		if r.byte() ~= 4 or r.byte() ~= 8 or r.byte() ~= 8 then error("unexpected sizes", 0); end
		r.skip(16); -- LUAC_INT, LUAC_NUM
		r.byte(); -- the main closure's number of upvalues
		local e = read_proto(r, true);
		if not r.at_end() then error("trailing bytes", 0); end
		return e;
	end);
	return ok2 and not escaped;
end

-- The reader checks itself on handlers whose answer is known, once: if this Lua's bytecode
-- differs from what it expects, every answer is false (events stay fresh tables).
local kept;
local trusted = (function()
	local reads = function(event) if event.stanza.attr.type == "x" and event.origin then return true; end end;
	local writes = function(event) event.seen = true; return true; end;
	local nothing = function(event) end;
	local stores = function(event) kept = event; end;
	local passes = function(event) return type(event); end;
	local returns = function(event) return event; end;
	local captures = function(event) return function() return event.x; end; end;
	local method = function(event) return event:get(); end;
	return analyse(reads) and analyse(writes) and analyse(nothing)
		and not (analyse(stores) or analyse(passes) or analyse(returns) or analyse(captures) or analyse(method))
		and kept == nil;
end)();

local known = setmetatable({}, { __mode = "k" });
local M = { trusted = trusted, analysed = 0 };

local function no_escape(f)
	if not trusted or type(f) ~= "function" then return false; end
	local answer = known[f];
	if answer == nil then
		M.analysed = M.analysed + 1;
		answer = analyse(f);
		known[f] = answer;
	end
	return answer;
end

M.no_escape = no_escape;
return M;
