-- util.xmppstream: an XMPP stream parser (RFC 6120 §4) for Lua-side connections (mod_c2s,
-- mod_s2s, mod_component, BOSH, WebSocket). new(session, callbacks[, size_limit[, ex]]) returns
-- { feed, reset, set_session, set_stanza_size_limit } and installs session.open_stream.
--
-- callbacks: streamopened(session, attr), streamclosed(session, attr), handlestanza(session,
-- stanza), error(session, condition, data[, text]); stream_ns / stream_tag name the stream
-- element (default http://etherx.jabber.org/streams stream), default_ns the stanza namespace,
-- error_tag the stream error element. Stanza names are "namespace\1name" internally;
-- ns_separator and ns_pattern describe that form.

local st = require "util.stanza";
local xmlreader = require "util.xmlreader";

local STREAMS_NS = "http://etherx.jabber.org/streams";
local DEFAULT_SIZE_LIMIT = 1024 * 1024;
local ns_separator = "\1";
local ns_pattern = "^([^" .. ns_separator .. "]*)" .. ns_separator .. "?(.*)$";

local function raise_error(_, condition, data)
	error("XML stream error: " .. tostring(condition) .. (data and ": " .. tostring(data) or ""), 2);
end

-- The element handlers: build stanzas below the stream element and hand them over.
local function new_sax_handlers(session, callbacks, on_progress, max_elements)
	local stream_ns = callbacks.stream_ns or STREAMS_NS;
	local stream_name = callbacks.stream_tag or "stream";
	local error_name = callbacks.error_tag or "error";
	local default_ns = callbacks.default_ns;
	local on_error = callbacks.error or raise_error;
	on_progress = on_progress or function() end;

	local state = {
		lang = "en",
		current = nil,       -- the element being built
		stack = {},          -- its ancestors inside the stanza
		quota = nil,         -- children still allowed in this stanza
		foreign_depth = 0,   -- depth below an element outside default_ns
		stanza_start = nil,  -- byte position where the current stanza began
	};
	local meta = {};

	local handler = {};
	function handler.start(reader, ns, name, attr)
		-- Stanzas in the stream's default namespace carry no xmlns; everything else does.
		if ns ~= default_ns or state.foreign_depth > 0 then
			attr.xmlns = ns;
			state.foreign_depth = state.foreign_depth + 1;
		end
		local top = state.current;
		if top and state.quota then
			state.quota = state.quota - 1;
			if state.quota <= 0 then
				on_error(session, "parse-error", "resource-constraint", "Stanza exceeds permitted children");
				reader:stop();
				return;
			end
		end
		if not top then
			if session.notopen then
				if ns == stream_ns and name == stream_name then
					state.foreign_depth = 0;
					state.lang = attr["xml:lang"] or state.lang;
					on_progress(reader.position);
					if callbacks.streamopened then callbacks.streamopened(session, attr); end
				else
					on_error(session, "no-stream", (ns ~= "" and ns .. ns_separator or "") .. name);
				end
				return;
			end
			if ns == "jabber:client" and name ~= "message" and name ~= "presence" and name ~= "iq" then
				on_error(session, "invalid-top-level-element");
			end
			state.current = st.stanza(name, attr);
			state.quota = max_elements;
			return;
		end
		local child = setmetatable({ name = name, attr = attr, tags = {} }, st.stanza_mt);
		top[#top + 1] = child;
		top.tags[#top.tags + 1] = child;
		state.stack[#state.stack + 1] = top;
		state.current = child;
	end

	function handler.text(_, text)
		local top = state.current;
		if not top then return; end
		-- adjacent text pieces join into one node
		local n = #top;
		if n > 0 and type(top[n]) == "string" then
			top[n] = top[n] .. text;
		else
			top[n + 1] = text;
		end
	end

	function handler.finish(reader, ns, name)
		if state.foreign_depth > 0 then state.foreign_depth = state.foreign_depth - 1; end
		local top = state.current;
		if not top then
			if callbacks.streamclosed then callbacks.streamclosed(session); end
			return;
		end
		if #state.stack > 0 then
			state.current = table.remove(state.stack);
			return;
		end
		state.current = nil;
		on_progress(reader.position);
		-- RFC 6120 §8.1.5: a stanza without xml:lang inherits the stream's.
		if top.attr["xml:lang"] == nil then top.attr["xml:lang"] = state.lang; end
		if ns == stream_ns and name == error_name then
			on_error(session, "stream-error", top);
		else
			callbacks.handlestanza(session, top);
		end
	end

	function handler.special(reader, kind, attrs)
		if kind == "decl" then
			-- RFC 6120 §11.1 restricted XML: only version 1.0, UTF-8, standalone.
			local encoding, version = attrs.encoding, attrs.version;
			if (encoding and encoding:lower() ~= "utf-8") or attrs.standalone == "no"
				or (version and version ~= "1.0") then
				on_error(session, "parse-error", "restricted-xml", "Restricted XML, see RFC 6120 section 11.1.");
				reader:stop();
				return false;
			end
			return true;
		end
		on_error(session, "parse-error", "restricted-xml", "Restricted XML, see RFC 6120 section 11.1.");
		reader:stop();
		return false;
	end

	function meta.reset()
		state.current, state.stack = nil, {};
	end
	function meta.set_session(_, new_session) session = new_session; end
	function meta.set_max_elements(n) max_elements = n; end
	function meta.in_stanza() return state.current ~= nil; end
	return handler, meta;
end

local function new(session, callbacks, size_limit, ex)
	size_limit = size_limit or DEFAULT_SIZE_LIMIT;
	local max_elements = ex and ex.max_elements;
	-- Bytes received that do not yet belong to a finished stanza (or the stream header).
	local settled = 0;
	local function progress(position) settled = position; end
	local handler, meta = new_sax_handlers(session, callbacks, progress, max_elements);
	local reader = xmlreader.new(handler);

	function session.open_stream(s, from, to)
		local send = s.sends2s or s.send;
		local attr = {
			["xmlns:stream"] = STREAMS_NS, ["xml:lang"] = "en",
			xmlns = callbacks.default_ns, id = s.streamid or "",
			version = s.version and (s.version > 0 and "1.0" or nil),
			from = from or s.host, to = to,
		};
		if s.stream_attrs then s:stream_attrs(from, to, attr); end
		send("<?xml version='1.0'?>" .. st.stanza("stream:stream", attr):top_tag());
		return true;
	end

	local stream = {};
	function stream.reset()
		reader:stop();
		reader = xmlreader.new(handler);
		settled = 0;
		meta.reset();
	end
	function stream.feed(_, data)
		local current = reader;
		local ok, err = current:feed(data);
		if current ~= reader then
			-- a callback reset the stream (after STARTTLS or SASL); the old reader is done
			return true;
		end
		local outstanding = current.consumed + current:buffered() - settled;
		if outstanding > size_limit then return nil, "stanza-too-large"; end
		if not ok then return nil, err; end
		return true;
	end
	stream.set_session = meta.set_session;
	function stream.set_stanza_size_limit(_, limit, elements)
		size_limit = limit;
		meta.set_max_elements(elements);
	end
	return stream;
end

return {
	ns_separator = ns_separator,
	ns_pattern = ns_pattern,
	new_sax_handlers = new_sax_handlers,
	new = new,
};
