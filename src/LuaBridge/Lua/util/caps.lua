-- util.caps for LuaXmpp: the XEP-0115 §5.1 verification string of a disco#info result and
-- its SHA-1, base64-encoded. Returns ver, S.
local base64 = require "util.encodings".base64.encode;
local sha1 = require "util.hashes".sha1;

local function form_string(x)
	local form_type;
	local fields = {};
	for _, field in ipairs(x.tags) do
		if field.name == "field" and field.attr.var then
			local values = {};
			for _, value in ipairs(field.tags) do
				if #value.tags == 0 then values[#values + 1] = value:get_text(); end
			end
			table.sort(values);
			if field.attr.var == "FORM_TYPE" then
				form_type = values[1];
			elseif #values > 0 then
				fields[#fields + 1] = field.attr.var .. "\0" .. table.concat(values, "<");
			else
				fields[#fields + 1] = field.attr.var;
			end
		end
	end
	table.sort(fields);
	local s = table.concat(fields, "<");
	if form_type then s = form_type .. "\0" .. s; end
	return s;
end

local function calculate_hash(disco_info)
	local identities, features, forms = {}, {}, {};
	for _, tag in ipairs(disco_info) do
		if tag.name == "identity" then
			local a = tag.attr;
			-- "\0" separators sort like the "/" of the final string but never collide with text.
			identities[#identities + 1] = (a.category or "") .. "\0" .. (a.type or "") .. "\0"
				.. (a["xml:lang"] or "") .. "\0" .. (a.name or "");
		elseif tag.name == "feature" then
			features[#features + 1] = tag.attr.var or "";
		elseif tag.name == "x" and tag.attr.xmlns == "jabber:x:data" then
			forms[#forms + 1] = form_string(tag);
		end
	end
	table.sort(identities); table.sort(features); table.sort(forms);
	local s = "";
	if #identities > 0 then s = s .. table.concat(identities, "<"):gsub("%z", "/") .. "<"; end
	if #features > 0 then s = s .. table.concat(features, "<") .. "<"; end
	if #forms > 0 then s = s .. table.concat(forms, "<"):gsub("%z", "<") .. "<"; end
	return base64(sha1(s)), s;
end

return { calculate_hash = calculate_hash };
