-- util.dataforms for LuaXmpp: XEP-0004 data forms described by a layout table:
--   { title = ..., instructions = ...,
--     { name = "FORM_TYPE", type = "hidden", value = "urn:..." },
--     { name = "with", type = "jid-single", label = ..., desc = ..., required = true,
--       datatype = "xs:dateTime" (XEP-0122), range_min, range_max, options, media, value }, ... }
-- layout:form(data, formtype) builds the <x/>; layout:data(x, current) reads a submission
-- into { name = value } plus a table of per-field errors.
local st = require "util.stanza";
local jid_prep = require "util.jid".prep;
local datetime = require "util.datetime";

local NS_FORMS = "jabber:x:data";
local NS_VALIDATE = "http://jabber.org/protocol/xdata-validate";
local NS_MEDIA = "urn:xmpp:media-element";

local form_t = {};
local form_mt = { __index = form_t };

local function new(layout)
	return setmetatable(layout, form_mt);
end

-- Numbers are rendered according to the field's XEP-0122 datatype.
local function number_text(field, field_type, n)
	if field.datatype == "xs:dateTime" then return datetime.datetime(n); end
	if field_type == "boolean" then return n ~= 0; end
	if field.datatype == "xs:double" or field.datatype == "xs:decimal" then return ("%f"):format(n); end
	return ("%d"):format(n);
end

local function add_values(form, field_type, value)
	if field_type == "boolean" then
		form:text_tag("value", value and "1" or "0");
	elseif field_type == "hidden" and type(value) == "table" then
		form:tag("value"):add_child(value):up();
	elseif field_type == "jid-multi" or field_type == "list-multi" then
		for _, v in ipairs(value) do form:text_tag("value", v); end
	elseif field_type == "text-multi" then
		for line in value:gmatch("([^\r\n]+)\r?\n*") do form:text_tag("value", line); end
	else
		form:text_tag("value", value);
	end
end

local function add_options(form, field_type, options)
	local defaults = {};
	for _, option in ipairs(options) do
		if type(option) == "table" then
			form:tag("option", { label = option.label }):text_tag("value", option.value):up();
			if option.default then defaults[#defaults + 1] = option.value; end
		else
			form:tag("option", { label = option }):text_tag("value", option):up();
		end
	end
	if field_type == "list-single" then return defaults[1]; end
	if field_type == "list-multi" then return defaults; end
	return nil;
end

local function add_field(form, field, data, formtype)
	local field_type = field.type or "text-single";
	local is_form, is_submit = formtype == "form", formtype == "submit";
	form:tag("field", { type = field_type, var = field.var or field.name, label = not is_submit and field.label or nil });
	if not is_submit and field.desc then form:text_tag("desc", field.desc); end
	if is_form and field.datatype then
		form:tag("validate", { xmlns = NS_VALIDATE, datatype = field.datatype });
		if field.range_min or field.range_max then
			form:tag("range", { min = field.range_min and tostring(field.range_min),
				max = field.range_max and tostring(field.range_max) }):up();
		end
		form:up();
	end
	local value, options = field.value, field.options;
	if data and data[field.name] ~= nil then
		value = data[field.name];
		-- For list fields a table in data supplies the options rather than the value.
		if is_form and type(value) == "table" and (field_type == "list-single" or field_type == "list-multi") then
			options, value = value, nil;
		end
	end
	if is_form and options then
		local defaults = add_options(form, field_type, options);
		if not value then value = defaults; end
	end
	if type(value) == "number" then value = number_text(field, field_type, value); end
	if value ~= nil then add_values(form, field_type, value); end
	local media = field.media;
	if media then
		form:tag("media", { xmlns = NS_MEDIA, height = ("%d"):format(media.height), width = ("%d"):format(media.width) });
		for _, uri in ipairs(media) do form:tag("uri", { type = uri.type }):text(uri.uri):up(); end
		form:up();
	end
	if is_form and field.required then form:tag("required"):up(); end
	form:up();
end

function form_t.form(layout, data, formtype)
	formtype = formtype or "form";
	local form = st.stanza("x", { xmlns = NS_FORMS, type = formtype });
	if formtype == "cancel" then return form; end
	if formtype ~= "submit" then
		if layout.title then form:text_tag("title", layout.title); end
		if layout.instructions then form:text_tag("instructions", layout.instructions); end
	end
	for _, field in ipairs(layout) do add_field(form, field, data, formtype); end
	return form;
end

-- Readers turn a <field/> into a Lua value, or nil and an error message.
local readers = {};

local function single_text(tag, required)
	local text = tag:get_child_text("value");
	if text == nil then text = tag:get_child_text("value", NS_FORMS); end
	if required and (text == nil or text == "") then return nil, "Required value missing"; end
	return text;
end

local function value_texts(tag)
	local values = {};
	for _, child in ipairs(tag.tags) do
		if child.name == "value" then values[#values + 1] = child:get_text(); end
	end
	return values;
end

readers["text-single"] = single_text;
readers["text-private"] = single_text;
readers["list-single"] = single_text;

readers["hidden"] = function(tag) return single_text(tag, false); end;

readers["jid-single"] = function(tag, required)
	local text, err = single_text(tag, required);
	if not text then return nil, err; end
	local jid = jid_prep(text);
	if not jid then return nil, "Invalid JID: " .. text; end
	return jid;
end;

readers["jid-multi"] = function(tag, required)
	local jids, errors = {}, {};
	for _, text in ipairs(value_texts(tag)) do
		local jid = jid_prep(text);
		if jid then jids[#jids + 1] = jid; else errors[#errors + 1] = "Invalid JID: " .. text; end
	end
	if #jids > 0 or #errors > 0 then
		return jids, #errors > 0 and table.concat(errors, "\n") or nil;
	end
	if required then return nil, "Required value missing"; end
	return nil;
end;

readers["list-multi"] = function(tag, required)
	local values = value_texts(tag);
	if #values > 0 then return values; end
	if required then return nil, "Required value missing"; end
	return nil;
end;

readers["text-multi"] = function(tag, required)
	local values, err = readers["list-multi"](tag, required);
	if values then return table.concat(values, "\n"); end
	return nil, err;
end;

-- XML Schema booleans (XEP-0004 §3.3).
local booleans = { ["1"] = true, ["true"] = true, ["0"] = false, ["false"] = false };
readers["boolean"] = function(tag, required)
	local text, err = single_text(tag, required);
	if not text then return nil, err; end
	local value = booleans[text];
	if value == nil then return nil, "Invalid boolean representation:" .. text; end
	return value;
end;

-- Validators (XEP-0122 datatypes) return true and the converted value, or false and why.
local validators = {};

validators["xs:integer"] = function(text, field)
	local n = tonumber(text);
	if not n then return false, "not a number"; end
	if n % 1 ~= 0 then return false, "not an integer"; end
	if (field.range_max and n > field.range_max) or (field.range_min and n < field.range_min) then
		return false, "out of bounds";
	end
	return true, math.tointeger(n) or n;
end;

validators["pubsub:integer-or-max"] = function(text, field)
	if text == "max" then return true, text; end
	return validators["xs:integer"](text, field);
end;

validators["xs:dateTime"] = function(text)
	local t = datetime.parse(text);
	if not t then return false, "invalid timestamp"; end
	return true, t;
end;

local function find_field_tag(form, var)
	for _, tag in ipairs(form.tags) do
		if tag.name == "field" and (tag.attr.xmlns == nil or tag.attr.xmlns == NS_FORMS) and tag.attr.var == var then
			return tag;
		end
	end
	return nil;
end

-- Returns data, errors (nil when there are none), present (names of fields submitted).
function form_t.data(layout, form, current)
	local data, errors, present = {}, {}, {};
	for _, field in ipairs(layout) do
		local name = field.name;
		local tag = find_field_tag(form, field.var or name);
		if not tag then
			if current and current[name] ~= nil then
				data[name] = current[name];
			elseif field.required then
				errors[name] = "Required value missing";
			end
		elseif name then
			present[name] = true;
			local reader = readers[field.type or "text-single"];
			if reader then
				local value, err = reader(tag, field.required);
				local validate = field.datatype and validators[field.datatype];
				if value ~= nil and validate then
					local ok, result = validate(value, field);
					if ok then
						value = result;
					else
						value, err = nil, result or ("Invalid value for data of type " .. field.datatype);
					end
				end
				data[name], errors[name] = value, err;
			end
		end
	end
	if next(errors) == nil then errors = nil; end
	return data, errors, present;
end

-- The FORM_TYPE of a form (XEP-0068), "" when absent, or nil and why.
local function get_type(form)
	if not st.is_stanza(form) then return nil, "not a stanza object"; end
	if form.name ~= "x" or form.attr.xmlns ~= NS_FORMS then return nil, "not a dataform element"; end
	local tag = find_field_tag(form, "FORM_TYPE");
	if tag then return single_text(tag, false); end
	return "";
end

return { new = new, get_type = get_type };
