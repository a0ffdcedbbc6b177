-- The bridge benchmarks' yardstick: the same operations timed in Prosody's own Lua.
--
-- This file is a Prosody module (written for LuaXmpp, not taken from Prosody). bench/bridge-yardstick.sh
-- copies it into a temporary plugin directory as mod_bridge_yardstick.lua and runs a real Prosody
-- (the Debian package) with it; once the server has started, the module times three operations
-- and writes one line per operation ("name ns_per_op") to the file named by bridge_yardstick_out,
-- then asks the server to stop. Timing uses os.clock (CPU time of the single Prosody thread).
local st = require "util.stanza";
local events_lib = require "util.events";
local xml = require "util.xml";

local out_path = module:get_option_string("bridge_yardstick_out");
local iterations = module:get_option_number("bridge_yardstick_iterations", 200000);

local function time(n, f)
	f(); -- warm up
	local start = os.clock();
	for _ = 1, n do f(); end
	return (os.clock() - start) / n * 1e9;
end

-- A typical chat message, as a client sends it (the same one the C# benchmarks use).
local message_text = "<message xmlns='jabber:client' type='chat' id='msg-1' to='bob@localhost/phone' from='alice@localhost/laptop' xml:lang='en'>"
	.. "<body>Are we still meeting at noon? I can bring the slides.</body>"
	.. "<active xmlns='http://jabber.org/protocol/chatstates'/>"
	.. "<request xmlns='urn:xmpp:receipts'/>"
	.. "<origin-id xmlns='urn:xmpp:sid:0' id='c7f4b1a0-2d55-4c1e-9a61-0f3e1f2b8d11'/>"
	.. "</message>";

local function run()
	local results = {};

	-- 1. An event with one handler, fired through util.events.
	local events = events_lib.new();
	events.add_handler("bench-event", function(event) event.seen = true; return true; end);
	results.fire_event_one_handler = time(iterations, function()
		events.fire_event("bench-event", { origin = nil });
	end);

	-- 1b. The same with a session and the message in the event, one handler that returns nothing.
	local nil_events = events_lib.new();
	nil_events.add_handler("bench-nil", function(event) end);
	local parsed = xml.parse(message_text);
	local origin = { type = "c2s", username = "alice", host = module.host };
	results.fire_event_nil_handler_with_message = time(iterations, function()
		nil_events.fire_event("bench-nil", { origin = origin, stanza = parsed });
	end);

	-- 2. The message as XML text → stanza table → XML text (how a stanza reaches and leaves Lua in Prosody).
	results.stanza_parse_and_serialize = time(iterations // 4, function()
		local stanza = xml.parse(message_text);
		local _ = tostring(stanza);
	end);
	results.stanza_clone_and_serialize = time(iterations // 4, function()
		local _ = tostring(st.clone(xml.parse(message_text) or st.message()));
	end);

	-- 3. module:send of that message to a bound local resource (router, message/full, mod_message,
	--    session.send), with a session whose send only counts.
	local host = module.host;
	local sent = 0;
	local session = {
		type = "c2s", host = host, username = "bob", resource = "phone", full_jid = "bob@" .. host .. "/phone",
		priority = 0, presence = st.presence(), send = function() sent = sent + 1; return true; end,
		log = function() end,
	};
	prosody.full_sessions[session.full_jid] = session;
	prosody.hosts[host].sessions["bob"] = { sessions = { phone = session }, top_resources = { session } };
	prosody.bare_sessions["bob@" .. host] = prosody.hosts[host].sessions["bob"];
	local template = xml.parse(message_text);
	template.attr.to = session.full_jid;
	template.attr.xmlns = nil;
	results.module_send = time(iterations // 4, function()
		module:send(st.clone(template));
	end);
	results.stanza_clone_only = time(iterations // 4, function()
		local _ = st.clone(template);
	end);
	if sent == 0 then results.module_send_error = "nothing was delivered"; end

	-- 4. The whole pass of a headline message from a bound client to a bound full JID
	--    (core_post_stanza with pre-events: pre-message/full, message/full, delivery) through
	--    whatever modules the host loaded (bridge-yardstick.sh DEPLOYMENT=1: mam, carbons, blocklist).
	local alice = {
		type = "c2s", host = host, username = "alice", resource = "laptop", full_jid = "alice@" .. host .. "/laptop",
		priority = 0, presence = st.presence(), send = function() return true; end, log = function() end,
	};
	prosody.full_sessions[alice.full_jid] = alice;
	prosody.hosts[host].sessions["alice"] = { sessions = { laptop = alice }, top_resources = { alice } };
	prosody.bare_sessions["alice@" .. host] = prosody.hosts[host].sessions["alice"];
	local headline = st.clone(template);
	headline.attr.type = "headline";
	headline.attr.from = alice.full_jid;
	local before = sent;
	results.post_headline_pass = time(iterations // 4, function()
		prosody.core_post_stanza(alice, st.clone(headline), true);
	end);
	if sent == before then results.post_headline_pass_error = "nothing was delivered"; end

	local f = assert(io.open(out_path, "w"));
	for name, value in pairs(results) do
		f:write(name, " ", type(value) == "number" and string.format("%.1f", value) or tostring(value), "\n");
	end
	f:write("lua ", _VERSION, "\n");
	f:close();
	prosody.shutdown("yardstick done");
end

module:hook_global("server-started", function()
	require "util.timer".add_task(0.1, run);
end);
