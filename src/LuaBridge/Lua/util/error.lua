-- util.error for LuaXmpp: structured error objects { type, condition, text, code, extra,
-- context, source, instance_id } as Prosody's modules create, wrap and pass to
-- util.stanza.error_reply. type and condition follow RFC 6120 §8.3.
local id = require "util.id";

local error_mt = { __name = "error" };

function error_mt:__tostring()
	return ("error<%s:%s:%s>"):format(self.type, self.condition, self.text or "");
end

local function is_error(value)
	return getmetatable(value) == error_mt;
end

local inject_traceback = false;

local function configure(options)
	if options.auto_inject_traceback ~= nil then
		inject_traceback = options.auto_inject_traceback;
	end
end

-- e is an error object (returned unchanged), a registry key, or a template table.
local function new(e, context, registry, source)
	if is_error(e) then return e; end
	local template = registry and registry[e];
	if not template then
		template = type(e) == "table" and e or {};
	end
	context = context or {};
	if inject_traceback then
		context.traceback = debug.traceback(nil, 2);
	end
	return setmetatable({
		instance_id = id.short();
		type = template.type or "cancel";
		condition = template.condition or "undefined-condition";
		text = template.text;
		code = template.code;
		extra = template.extra;
		context = context;
		source = source;
	}, error_mt);
end

-- A registry may be written compactly as { key = { type, condition, text?, app_condition? } }.
local function expand_compact(namespace, registry)
	local expanded = {};
	for key, t in pairs(registry) do
		local entry = { type = t[1], condition = t[2], text = t[3] };
		if namespace and t[4] then
			entry.extra = { namespace = namespace, condition = t[4] };
		end
		expanded[key] = entry;
	end
	return expanded;
end

local function init(source, namespace, registry)
	if type(namespace) == "table" then
		namespace, registry = nil, namespace;
	end
	registry = registry or {};
	local _, sample = next(registry);
	if type(sample) == "table" and sample[1] ~= nil then
		registry = expand_compact(namespace, registry);
	end
	local function wrap(e, context)
		if is_error(e) then return e; end
		local err = new(registry[e] or { type = "cancel", condition = "undefined-condition" }, context, registry, source);
		err.context.wrapped_error = e;
		return err;
	end
	return {
		source = source;
		registry = registry;
		new = function(e, context) return new(e, context, registry, source); end;
		coerce = function(ok, err, ...)
			if ok then return ok, err, ...; end
			return nil, wrap(err);
		end;
		wrap = wrap;
		is_error = is_error;
	};
end

-- Passes successful results through; turns a plain failure value into an error object.
local function coerce(ok, err, ...)
	if ok or is_error(err) then return ok, err, ...; end
	return ok, new({ type = "cancel", condition = "undefined-condition" }, { wrapped_error = err }), ...;
end

local function from_stanza(stanza, context, source)
	local error_type, condition, text, extra_tag = stanza:get_error();
	local error_tag = stanza:get_child("error");
	context = context or {};
	context.stanza = stanza;
	context.by = error_tag and error_tag.attr.by or stanza.attr.from;
	local uri;
	if error_tag and (condition == "gone" or condition == "redirect") then
		uri = error_tag:get_child_text(condition, "urn:ietf:params:xml:ns:xmpp-stanzas");
	end
	local extra;
	if extra_tag or uri then extra = { uri = uri, tag = extra_tag }; end
	return new({ type = error_type or "cancel", condition = condition or "undefined-condition", text = text, extra = extra },
		context, nil, source);
end

return {
	new = new;
	init = init;
	coerce = coerce;
	is_error = is_error;
	is_err = is_error;
	from_stanza = from_stanza;
	configure = configure;
};
