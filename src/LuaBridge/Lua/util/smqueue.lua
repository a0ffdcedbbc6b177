-- util.smqueue for LuaXmpp: the unacknowledged-stanza queue of XEP-0198 stream management.
-- _head counts stanzas pushed, _tail the ones the peer acknowledged (its h); both grow without
-- wrapping. The backing queue overwrites its oldest entries when it overflows, after which the
-- session is no longer resumable.
local queue = require "util.queue";

local smqueue = {};

function smqueue:push(item)
	self._head = self._head + 1;
	assert(self._queue:push(item));
end

-- Acknowledges up to h; returns the newly acknowledged items, or nil and "tail"/"head" when
-- h is below the previous ack or above what was sent.
function smqueue:ack(h)
	if h < self._tail then return nil, "tail"; end
	if h > self._head then return nil, "head"; end
	self._tail = h;
	local acked = {};
	local remaining = self._head - self._tail;
	while self._queue:count() > remaining do
		local item = self._queue:pop();
		if item == nil then return nil, "pop"; end
		acked[#acked + 1] = item;
	end
	return acked;
end

function smqueue:count_unacked() return self._head - self._tail; end
function smqueue:count_acked() return self._tail; end
function smqueue:resumable() return self._queue:count() >= self._head - self._tail; end
function smqueue:resume() return self._queue:items(); end
function smqueue:consume() return self._queue:consume(); end

function smqueue:table()
	local t = {};
	for i, item in self:resume() do t[i] = item; end
	return t;
end

local function freeze(q) return { head = q._head, tail = q._tail }; end

local smqueue_mt = { __name = "smqueue", __index = smqueue, __len = smqueue.count_unacked, __freeze = freeze };

local function new(size)
	assert(size > 0);
	return setmetatable({ _head = 0, _tail = 0, _queue = queue.new(size, true) }, smqueue_mt);
end

return { new = new, smqueue = smqueue };
