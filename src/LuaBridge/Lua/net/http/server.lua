-- net.http.server for LuaXmpp: the routing half of Prosody 0.12's HTTP server. Sockets, HTTP
-- parsing, body limits and TLS are native (Kestrel, src/Host/Http); each request arrives here
-- through handle(), runs in a util.async runner (a handler may wait), and its answer goes back
-- through the http_* primitives.
--
-- Events are named "METHOD host/path" or "METHOD /path" (mod_http builds them from routes). A
-- name ending in "/*" is a wildcard that matches every path below it; when several match,
-- the deeper path wins, then an exact name over a wildcard, then the higher priority.
local N_http = require "luaxmpp.native.http";
local codes = require "net.http.codes";
local log = require "util.logger".init("http.server");

local pairs, ipairs, type, tostring, select = pairs, ipairs, type, tostring, select;
local t_insert, t_sort, t_concat = table.insert, table.sort, table.concat;
local os_date = os.date;

local M = { codes = codes };

local async; -- util.async, loaded on first request (it loads util.timer and friends)
local promise_lib, errors_lib;

---------------------------------------------------------------------------------------------
-- Handlers
---------------------------------------------------------------------------------------------

local registered = {};   -- event name → list of { handler, priority, seq }
local chains = {};       -- event name → sorted handler list (or false), rebuilt on change
local wrappers = {};     -- event name or false → list of wrappers (util.events' add_wrapper)
local seq = 0;

local function is_wildcard(name) return name:sub(-2) == "/*"; end

local function depth(name) return select(2, name:gsub("/", "")); end

local function chain_for(name)
	local chain = chains[name];
	if chain ~= nil then return chain; end
	local matches = {};
	for event, list in pairs(registered) do
		local exact = event == name;
		if exact or (is_wildcard(event) and name:sub(1, #event - 1) == event:sub(1, -2)) then
			local d, e = depth(event), exact and 1 or 0;
			for _, h in ipairs(list) do t_insert(matches, { h[1], d, e, h[2], h[3] }); end
		end
	end
	t_sort(matches, function(a, b)
		if a[2] ~= b[2] then return a[2] > b[2]; end
		if a[3] ~= b[3] then return a[3] > b[3]; end
		if a[4] ~= b[4] then return a[4] > b[4]; end
		return a[5] < b[5];
	end);
	chain = false;
	if #matches > 0 then
		chain = {};
		for i, m in ipairs(matches) do chain[i] = m[1]; end
	end
	chains[name] = chain;
	return chain;
end

function M.add_handler(event, handler, priority)
	seq = seq + 1;
	local list = registered[event];
	if not list then list = {}; registered[event] = list; end
	t_insert(list, { handler, priority or 0, seq });
	chains = {};
end

function M.remove_handler(event, handler)
	local list = registered[event];
	if not list then return; end
	for i = #list, 1, -1 do
		if list[i][1] == handler then table.remove(list, i); end
	end
	if #list == 0 then registered[event] = nil; end
	chains = {};
end

local function run_chain(name, data)
	local chain = chain_for(name);
	if not chain then return nil; end
	for _, handler in ipairs(chain) do
		local ret = handler(data);
		if ret ~= nil then return ret; end
	end
	return nil;
end

-- Wrappers of the event's own name are outermost, then those for every event (false).
function M.fire_event(name, data)
	local lists = {};
	if wrappers[name] and #wrappers[name] > 0 then t_insert(lists, wrappers[name]); end
	if wrappers[false] and #wrappers[false] > 0 then t_insert(lists, wrappers[false]); end
	if #lists == 0 then return run_chain(name, data); end
	local li, wi = 1, #lists[1] + 1;
	local function nxt(ev_name, ev_data)
		wi = wi - 1;
		while wi == 0 do
			li = li + 1;
			if not lists[li] then return run_chain(ev_name, ev_data); end
			wi = #lists[li];
		end
		return lists[li][wi](nxt, ev_name, ev_data);
	end
	return nxt(name, data);
end

function M.add_wrapper(name, wrapper)
	local list = wrappers[name];
	if not list then list = {}; wrappers[name] = list; end
	t_insert(list, wrapper);
end

function M.remove_wrapper(name, wrapper)
	local list = wrappers[name];
	if not list then return; end
	for i = #list, 1, -1 do
		if list[i] == wrapper then table.remove(list, i); end
	end
end

-- util.events' shape, for modules that reach the server's events object directly.
M._events = {
	add_handler = M.add_handler, remove_handler = M.remove_handler, fire_event = M.fire_event,
	add_wrapper = M.add_wrapper, remove_wrapper = M.remove_wrapper,
};

-- The body of an error answer; mod_http_errors and friends hook "http-error" to make pages.
M.add_handler("http-error", function(event)
	return codes[event.code] .. "\n";
end, -1);

---------------------------------------------------------------------------------------------
-- Hosts and options
---------------------------------------------------------------------------------------------

local hosts, default_host, options = {}, nil, {};

function M.add_host(host) hosts[host] = true; end
function M.remove_host(host) hosts[host] = nil; end
function M.set_default_host(host) default_host = host; end
function M.set_option(name, value) options[name] = value; end

-- Ports are opened by the native listener from http_ports/https_ports (as Prosody's
-- portmanager does for mod_http); listening here is a no-op kept for modules that call it.
function M.listen_on() return true; end

---------------------------------------------------------------------------------------------
-- Responses
---------------------------------------------------------------------------------------------

-- Lua header keys are lower-case with "_" for "-" (content_type); on the wire each word is
-- capitalised (Content-Type).
local wire_names = setmetatable({}, { __index = function(t, k)
	local v = k:gsub("_", "-"):gsub("%f[%w]%l", string.upper);
	t[k] = v;
	return v;
end });

local function headers_list(response)
	local list = {};
	for k, v in pairs(response.headers) do
		if v ~= nil and v ~= false then
			t_insert(list, wire_names[tostring(k)]);
			t_insert(list, tostring(v));
		end
	end
	return list;
end

local function write_headers(response)
	if response.finished or response.headers_sent then return; end
	response.headers_sent = true;
	N_http.http_start(response.id, response.status_code or 200, headers_list(response));
end

local function finish_response(response)
	if response.finished then return; end
	write_headers(response);
	response.finished = true;
	N_http.http_finish(response.id);
	if response.on_destroy then
		local on_destroy = response.on_destroy;
		response.on_destroy = nil;
		on_destroy(response);
	end
	if response.finish_cb then response:finish_cb(); end
end

local function send_response(response, body)
	if response.finished then return; end
	body = body or response.body or "";
	body = tostring(body);
	local code = response.status_code or 200;
	-- RFC 9110 §8.6: no Content-Length on 1xx and 204.
	if code > 199 and code ~= 204 then response.headers.content_length = ("%d"):format(#body); end
	write_headers(response);
	if not response.is_head_request and #body > 0 then N_http.http_write(response.id, body); end
	return finish_response(response);
end

local blocksize = 65536;

-- Sends an open file (anything with :read(n)), in blocks, then closes it.
local function send_file(response, f)
	if response.finished then
		if f.close then f:close(); end
		return;
	end
	if response.is_head_request then
		if f.close then f:close(); end
		return send_response(response, "");
	end
	write_headers(response);
	while not response.finished do
		local chunk = f:read(blocksize);
		if not chunk then break; end
		N_http.http_write(response.id, chunk);
	end
	if f.close then f:close(); end
	return finish_response(response);
end

M.send_response, M.send_file, M.finish_response, M.write_headers = send_response, send_file, finish_response, write_headers;

local function handle_result(request, response, result)
	if result == nil then result = 404; end
	if result == true or response.finished then return; end
	if not promise_lib then promise_lib, errors_lib = require "util.promise", require "util.error"; end
	local body;
	local kind = type(result);
	if kind == "number" then
		response.status_code = result;
		if result >= 400 then
			body = M.fire_event("http-error", { request = request, response = response, code = result });
		end
	elseif kind == "string" then
		body = result;
	elseif errors_lib.is_err(result) then
		response.status_code = result.code or 500;
		body = M.fire_event("http-error", { request = request, response = response, code = response.status_code, error = result });
	elseif promise_lib.is_promise(result) then
		result:next(function(ret) handle_result(request, response, ret); end,
			function(err) response.status_code = 500; handle_result(request, response, err or 500); end);
		return;
	elseif kind == "table" then
		for k, v in pairs(result) do
			if k == "headers" then
				for name, value in pairs(v) do response.headers[name] = value; end
			else
				response[k] = v;
			end
		end
	end
	return send_response(response, body);
end

---------------------------------------------------------------------------------------------
-- Requests
---------------------------------------------------------------------------------------------

-- A stand-in for the connection object modules reach through request.conn.
local function new_conn(response, ip, secure)
	local conn = {};
	function conn:ip() return ip; end
	function conn:ssl() return secure or nil; end
	-- "100 Continue" is Kestrel's to send; anything else written raw is not supported here.
	function conn:write() return true; end
	function conn:close() return finish_response(response); end
	function conn:pause() end
	function conn:resume() end
	function conn:setoption() return true; end
	return conn;
end

local function dispatch(request, response)
	local path = request.path;
	local payload = { request = request, response = response };
	local result = M.fire_event(request.method .. " " .. path, payload);
	if result == nil and response.is_head_request then
		result = M.fire_event("GET " .. path, payload);
	end
	if result == nil then
		local host = request.host;
		if not (host and hosts[host]) then
			if default_host and hosts[default_host] then
				host = default_host;
			else
				local code = host and 404 or 400;
				response.status_code = code;
				return send_response(response, M.fire_event("http-error", { request = request, response = response, code = code,
					message = host and ("Unknown host: " .. host) or "Missing or invalid 'Host' header" }));
			end
		end
		result = M.fire_event(request.method .. " " .. host .. path, payload);
		if result == nil and response.is_head_request then
			result = M.fire_event("GET " .. host .. path, payload);
		end
	end
	return handle_result(request, response, result);
end

local idle = {};

local watchers = {
	error = function(runner, err)
		local job = runner.job;
		log("error", "Traceback[httpserver]: %s", tostring(err));
		if job and not job.response.finished then
			job.response.status_code = 500;
			job.response.headers = {};
			send_response(job.response, M.fire_event("http-error", { code = 500, private_message = err }));
		end
	end;
};

local function run(job)
	local r = idle[#idle];
	if r then idle[#idle] = nil; else r = async.runner(function(j) dispatch(j.request, j.response); end, watchers); end
	r.job = job;
	r:run(job);
	if r.state == "ready" then r.job = nil; idle[#idle + 1] = r; end
end

-- Called by the runtime for each request: header names and values as one flat list.
function M.handle(id, method, path, query, version, header_list, body, ip, secure, host)
	if not async then async = require "util.async"; end
	local headers = {};
	for i = 1, #header_list, 2 do
		local name = header_list[i]:lower():gsub("-", "_");
		local value = header_list[i + 1];
		headers[name] = headers[name] and (headers[name] .. ", " .. value) or value;
	end
	local request = {
		id = ("%x"):format(id), method = method, path = path, httpversion = version,
		url = { path = path, query = query }, headers = headers, body = body,
		ip = ip, secure = secure, host = host,
	};
	local response = {
		id = id, request = request, status_code = 200, is_head_request = method == "HEAD",
		headers = { date = os_date("!%a, %d %b %Y %H:%M:%S GMT") },
		send = send_response, send_file = send_file, write_headers = write_headers, done = finish_response,
	};
	local conn = new_conn(response, ip, secure);
	request.conn, response.conn = conn, conn;
	run({ request = request, response = response });
end

function M.get_request_from_conn() return nil; end

return M;
