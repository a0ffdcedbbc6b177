-- util.queue for LuaXmpp: a fixed-capacity FIFO ring buffer. When full, push fails with
-- "queue full", or, with allow_wrapping, overwrites the oldest item.
local utable = require "util.table";

local function new(size, allow_wrapping)
	local slots = utable.create(size, 0);
	local oldest, free, count = 1, 1, 0;  -- index of the oldest item, next free slot, items held

	local q = { _items = slots, size = size };

	function q.count() return count; end

	function q.push(_, item)
		if count >= size then
			if not allow_wrapping then return nil, "queue full"; end
			oldest = oldest % size + 1;
			count = count - 1;
		end
		slots[free] = item;
		free = free % size + 1;
		count = count + 1;
		return true;
	end

	function q.pop()
		if count == 0 then return nil; end
		local item = slots[oldest];
		slots[oldest] = 0; -- keep the array part dense while freeing the reference
		oldest = oldest % size + 1;
		count = count - 1;
		return item;
	end

	function q.peek()
		if count == 0 then return nil; end
		return slots[oldest];
	end

	function q.replace(self, item)
		if count == 0 then return self:push(item); end
		slots[oldest] = item;
		return true;
	end

	-- Iterates position, item from the oldest; does not remove anything.
	function q.items(self)
		return function(_, position)
			if position >= count then return nil; end
			return position + 1, slots[(oldest - 1 + position) % size + 1];
		end, self, 0;
	end

	-- Iterates while popping: for item in q:consume() do ... end
	function q.consume(self)
		return self.pop, self;
	end

	return q;
end

return { new = new };
