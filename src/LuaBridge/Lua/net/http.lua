-- net.http: Prosody 0.12's HTTP client API over .NET's HttpClient (off the loop thread).
--   http.request(url, options, callback)  callback(body, code, response, request); code 0 and
--                                         the error as body when no answer came
--   http.request(url, options)            a promise of the response (rejected on failure)
-- options: body (POST form by default), method, headers, insecure (skip certificate checks).
-- Instances from new(options) have their own util.events ("pre-request", "request", ...).
local N_http = require "luaxmpp.native.http";
local when_done = require "core.bridge".when_done;
local url = require "socket.url";
local events = require "util.events";
local promise = require "util.promise";
local errors = require "util.error";
local http_util = require "util.http";
local log = require "util.logger".init("net.http");

local pairs, tostring, xpcall, traceback = pairs, tostring, xpcall, debug.traceback;

local request_ids = 0;

local function deliver(req, ...)
	local ok, err = xpcall(req.callback, traceback, ...);
	if not ok then log("error", "Error in HTTP callback for %s: %s", req.id, tostring(err)); end
end

local function request(self, u, ex, callback)
	local req = url.parse(u);
	if not (req and req.host and (req.scheme == "http" or req.scheme == "https")) then
		callback("invalid-url", 0, req);
		return nil, "invalid-url";
	end
	request_ids = request_ids + 1;
	req.url, req.http, req.time, req.path = u, self, os.time(), req.path or "/";
	req.id = ex and ex.id or ("%x"):format(request_ids);

	local event = { http = self, url = u, request = req, options = ex, callback = callback };
	local ret = self.events.fire_event("pre-request", event);
	if ret then return ret; end
	req, u, ex, req.callback = event.request, event.url, event.options, event.callback;

	local method, body;
	local headers = { ["User-Agent"] = "Prosody XMPP Server" };
	if req.userinfo then headers["Authorization"] = "Basic " .. require "util.encodings".base64.encode(req.userinfo); end
	if ex then
		body = ex.body;
		if body then
			method = "POST";
			headers["Content-Type"] = "application/x-www-form-urlencoded";
		end
		method = ex.method or method;
		for name, value in pairs(ex.headers or {}) do headers[name] = value; end
	end
	req.method, req.headers, req.body = method or "GET", headers, body;

	local flat = {};
	for name, value in pairs(headers) do
		flat[#flat + 1] = tostring(name);
		flat[#flat + 1] = tostring(value);
	end
	log("debug", "Making %s %s request '%s' to %s", req.scheme:upper(), req.method, req.id, u);
	when_done(function(code, content, header_list)
		if not code then
			self.events.fire_event("request-connection-error", { http = self, request = req, url = u, err = content });
			return deliver(req, content or "connection failed", 0, req);
		end
		local response_headers = {};
		for i = 1, #header_list, 2 do response_headers[header_list[i]:lower()] = header_list[i + 1]; end
		local response = { code = code, body = content, headers = response_headers, request = req };
		self.events.fire_event("response", { http = self, url = u, request = req, response = response });
		return deliver(req, content, code, response, req);
	end, N_http.http_request(req.method, u, flat, body, ex and ex.insecure or (self.options and self.options.insecure)));

	self.events.fire_event("request", { http = self, request = req, url = u });
	return req;
end

local function new(options)
	local http = { options = options, events = events.new() };
	function http.request(self, u, ex, callback)
		if callback ~= nil then return request(self, u, ex, callback); end
		return promise.new(function(resolve, reject)
			request(self, u, ex, function(body, code, response, req)
				if code == 0 then
					reject(errors.new({ type = "wait", condition = "remote-server-timeout", text = tostring(body) }, { request = response }));
				else
					response.request = req;
					resolve(response);
				end
			end);
		end);
	end
	function http.new(more)
		local merged = {};
		for k, v in pairs(options or {}) do merged[k] = v; end
		for k, v in pairs(more or {}) do merged[k] = v; end
		return new(merged);
	end
	return http;
end

local default_http = new({ suppress_errors = true });

return {
	request = function(u, ex, callback) return default_http:request(u, ex, callback); end;
	default = default_http;
	new = new;
	events = default_http.events;
	urlencode = http_util.urlencode;
	urldecode = http_util.urldecode;
	formencode = http_util.formencode;
	formdecode = http_util.formdecode;
};
