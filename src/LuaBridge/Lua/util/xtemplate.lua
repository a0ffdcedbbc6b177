-- util.xtemplate: text templates over a stanza (mod_pubsub's Atom/summary rendering).
-- render(template, root[, escape[, filters]]) replaces every "{path|f1(args){sub}|f2...}" block:
-- path is "." (the root), "#" (its text) or a util.stanza find() path; each step after "|" is
-- each(name){sub} (render sub for each child), and{sub} / or{sub} (render sub when the value,
-- or the path given in parentheses, exists / does not), or a filter from `filters`, called as
-- f(value, sub) or f(args, value, sub) and returning value[, already_escaped].

local st = require "util.stanza";

-- Splits the steps after the path: { { name, args|nil, sub|nil }, ... }, or nil if malformed.
local function parse_steps(inner, pos)
	local steps = {};
	while inner:sub(pos, pos) == "|" do
		local name, after = inner:match("^(%w+)()", pos + 1);
		if not name then break; end
		local step = { name = name };
		local args, after_args = inner:match("^(%b())()", after);
		if args then step.args, after = args:sub(2, -2), after_args; end
		local sub, after_sub = inner:match("^(%b{})()", after);
		if sub then step.sub, after = sub:sub(2, -2), after_sub; end
		steps[#steps + 1] = step;
		pos = after;
	end
	return steps;
end

local render;

local function each(value, root, path, step, escape, filters)
	local target, spec = value, step.args;
	if not spec then target, spec = root, path; end
	local ns, name = spec:match("^(%b{})(.*)$");
	if ns then ns = ns:sub(2, -2); else name = spec; end
	if ns == "" then ns = nil; end
	if name == "" then name = nil; end
	local out = {};
	for child in target:childtags(name, ns) do out[#out + 1] = render(step.sub, child, escape, filters); end
	return table.concat(out);
end

local function apply_step(step, value, root, path, escape, filters)
	local f = step.name;
	if f == "each" and step.sub and st.is_stanza(value) then
		return each(value, root, path, step, escape, filters), true;
	elseif (f == "and" or f == "or") and step.sub then
		local condition = value;
		if step.args then condition = root:find(step.args); end
		if (f == "and") == (condition and true or false) then
			return render(step.sub, root, escape, filters), true;
		end
		return value, nil;
	elseif filters and filters[f] then
		local result, escaped;
		if step.args == nil then result, escaped = filters[f](value, step.sub);
		else result, escaped = filters[f](step.args, value, step.sub); end
		return result, escaped or false;
	end
	error("No such filter function: " .. f);
end

local function expand(block, root, escape, filters)
	local inner = block:sub(2, -2);
	local path, pos = inner:match("^([^|]+)()");
	if not path then return nil; end
	local value;
	if path == "." then value = root;
	elseif path == "#" then value = root:get_text();
	else value = root:find(path); end
	local escaped = false;
	for _, step in ipairs(parse_steps(inner, pos)) do
		local was;
		value, was = apply_step(step, value, root, path, escape, filters);
		if was ~= nil then escaped = was; end
	end
	if type(value) == "string" then
		return escaped and value or escape(value);
	elseif st.is_stanza(value) then
		local text = value:get_text();
		if text then return escape(text); end
	end
	return "";
end

function render(template, root, escape, filters)
	escape = escape or st.xml_escape;
	return (template:gsub("%b{}", function(block) return expand(block, root, escape, filters); end));
end

return { render = render };
