-- util.throttle for LuaXmpp: a token bucket holding up to `max` tokens, refilled at
-- max/period tokens per second.
local now = require "util.time".now;

local throttle = {};
local throttle_mt = { __index = throttle };

function throttle:update()
	local t = now();
	local balance = self.balance + self.rate * (t - self.t);
	self.t = t;
	if balance > self.max then balance = self.max; end
	self.balance = balance;
	return balance;
end

function throttle:peek(cost)
	cost = cost or 1;
	return self.balance >= cost or self:update() >= cost;
end

-- Takes cost tokens: true, or false, balance, shortfall. With split, a failed poll still
-- spends what is there.
function throttle:poll(cost, split)
	cost = cost or 1;
	if self:peek(cost) then
		self.balance = self.balance - cost;
		return true;
	end
	local balance = self.balance;
	if split then self.balance = 0; end
	return false, balance, cost - balance;
end

local function create(max, period)
	return setmetatable({ rate = max / period, max = max, t = now(), balance = max }, throttle_mt);
end

return { create = create };
