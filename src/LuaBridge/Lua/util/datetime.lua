-- util.datetime for LuaXmpp: XEP-0082 date/time profiles, always in UTC.
local os_date, floor, tonumber = os.date, math.floor, tonumber;

-- os.date in Lua 5.4 rejects non-integral numbers; stamps have whole-second precision.
local function whole(t)
	if t == nil then return nil; end
	return floor(t);
end

local function date(t) return os_date("!%Y-%m-%d", whole(t)); end
local function datetime(t) return os_date("!%Y-%m-%dT%H:%M:%SZ", whole(t)); end
local function time(t) return os_date("!%H:%M:%S", whole(t)); end
-- XEP-0091 (legacy delayed delivery) form.
local function legacy(t) return os_date("!%Y%m%dT%H:%M:%S", whole(t)); end

-- Days since 1970-01-01 of a proleptic Gregorian date (civil calendar arithmetic, so the
-- result never depends on the server's local time zone).
local function days_from_civil(y, m, d)
	if m <= 2 then y = y - 1; end
	local era = floor(y / 400);
	local yoe = y - era * 400;
	local mp = (m + 9) % 12;
	local doy = floor((153 * mp + 2) / 5) + d - 1;
	local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy;
	return era * 146097 + doe - 719468;
end

-- Parses the XEP-0082 DateTime (and the XEP-0091 legacy form) into integral Unix seconds.
-- Fractions of a second are accepted and dropped; a time zone offset is applied.
local function parse(s)
	if type(s) ~= "string" then return nil; end
	local year, month, day, hour, min, sec, zone =
		s:match("^(%d%d%d%d)%-?(%d%d)%-?(%d%d)T(%d%d):(%d%d):(%d%d)%.?%d*(.*)$");
	if not year then return nil; end
	local offset = 0;
	if zone ~= "" and zone ~= "Z" then
		local sign, zh, zm = zone:match("^([+%-])(%d%d):?(%d%d)$");
		if not sign then
			sign, zh = zone:match("^([+%-])(%d%d)$");
			zm = "0";
		end
		if not sign then return nil; end
		offset = tonumber(zh) * 3600 + tonumber(zm) * 60;
		if sign == "-" then offset = -offset; end
	end
	local days = days_from_civil(tonumber(year), tonumber(month), tonumber(day));
	return days * 86400 + tonumber(hour) * 3600 + tonumber(min) * 60 + tonumber(sec) - offset;
end

return { date = date, datetime = datetime, time = time, legacy = legacy, parse = parse };
