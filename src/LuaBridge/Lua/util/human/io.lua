-- util.human.io: text columns for the admin shell's tables (column specs: title, key, width as
-- a number or "N%" of what is left, align, mapper, default) and padding helpers. The terminal
-- prompts of prosodyctl have no terminal in the server; they read a line from stdin.
local utf8_len = utf8.len;

local function width_of(s)
	return utf8_len(s) or #s;
end

local function padright(s, width) return s .. (" "):rep(math.max(0, width - width_of(s))); end
local function padleft(s, width) return (" "):rep(math.max(0, width - width_of(s))) .. s; end

local function ellipsis(s, width)
	if width_of(s) <= width then return s; end
	if width <= 1 then return "…"; end
	local cut = utf8.offset(s, width) or (width);
	return s:sub(1, cut - 1) .. "…";
end

local function is_percent(w) return type(w) == "string" and w:sub(-1) == "%"; end

-- Returns row(values) → one formatted line; row() gives the heading line.
local function new_table(columns, max_width)
	max_width = max_width or tonumber(os.getenv("COLUMNS")) or 80;
	local gap = " | ";
	local widths, left = {}, max_width - #gap * (#columns - 1);
	for i, column in ipairs(columns) do
		if not is_percent(column.width) then
			widths[i] = math.max(tonumber(column.width or 0) or 0, column.title and #column.title + 1 or 0);
			left = left - widths[i];
		end
	end
	for i, column in ipairs(columns) do
		if not widths[i] then
			widths[i] = math.floor(math.max(left, 0) * tonumber((column.width:gsub("%%$", ""))) / 100);
		end
	end
	return function(row)
		local heading = row == nil;
		local cells = {};
		for i, column in ipairs(columns) do
			local value;
			if heading then value = column.title or "";
			else
				value = row[column.key or i];
				if column.mapper then value = column.mapper(value, row); end
			end
			value = value == nil and (column.default or "") or tostring(value);
			local w = widths[i];
			if width_of(value) > w then value = ellipsis(value, w);
			elseif column.align == "right" then value = padleft(value, w);
			else value = padright(value, w); end
			cells[i] = value;
		end
		return table.concat(cells, gap);
	end;
end

local function printf(fmt, ...) print(fmt:format(...)); end

local function getline()
	local line = io.read("*l");
	return line;
end

local function show_prompt(prompt)
	io.write(prompt, " ");
	return getline();
end

local function show_yesno(prompt)
	local answer = show_prompt(prompt);
	if not answer then return nil; end
	return answer:lower():match("^y") ~= nil;
end

return {
	table = new_table;
	padleft = padleft;
	padright = padright;
	ellipsis = ellipsis;
	printf = printf;
	getline = getline;
	getpass = getline;
	read_password = getline;
	getchar = function() return io.read(1); end;
	show_prompt = show_prompt;
	show_yesno = show_yesno;
};
