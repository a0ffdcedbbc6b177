-- util.prosodyctl: the helpers module files call from their command-line entry points
-- (module.command). User management goes through core.usermanager; process control is the
-- luaxmpp executable's business, so those functions say so.

local usermanager = require "core.usermanager";

local function show_message(fmt, ...) print((tostring(fmt)):format(...)); end

local function show_usage(usage, description)
	print("Usage: luaxmpp " .. usage);
	if description then print(""); print(description); end
end

local function show_module_configuration_help(name)
	print(("Enable %s by adding it to modules_enabled in the config file."):format(name));
end

local function user_exists(params)
	local user, host = params.user, params.host;
	if not usermanager.user_exists then return false; end
	return usermanager.user_exists(user, host);
end

local function adduser(params)
	if not (params.user and params.host and params.password) then return false, "invalid-username"; end
	if user_exists(params) then return false, "user-exists"; end
	return usermanager.create_user(params.user, params.password, params.host);
end

local function passwd(params)
	if not user_exists(params) then return false, "no-such-user"; end
	return usermanager.set_password(params.user, params.password, params.host);
end

local function deluser(params)
	if not user_exists(params) then return false, "no-such-user"; end
	return usermanager.delete_user(params.user, params.host);
end

local function not_here() return false, "not-supported: use the luaxmpp command"; end

return {
	show_message = show_message,
	show_warning = show_message,
	show_usage = show_usage,
	show_module_configuration_help = show_module_configuration_help,
	adduser = adduser,
	user_exists = user_exists,
	passwd = passwd,
	deluser = deluser,
	getpid = not_here,
	isrunning = function() return true, true; end,
	start = not_here,
	stop = not_here,
	reload = not_here,
	call_luarocks = not_here,
	error_messages = setmetatable({
		["invalid-username"] = "That username is not valid in a JID",
		["user-exists"] = "That account exists already",
		["no-such-user"] = "No such account on this server",
		["not-supported"] = "This is done with the luaxmpp command",
	}, { __index = function(_, k) return "Error: " .. tostring(k); end }),
};
