-- util.pubsub: a publish-subscribe service (XEP-0060) as mod_pep and mod_pubsub drive it.
-- Every method takes the node name and the actor (a JID, or true for the service itself) and
-- returns true[, result] or false/nil, error condition. Access is decided by affiliation
-- (outcast < none < member < publisher < owner) and a capability table per affiliation.

local events = require "util.events";
local cache = require "util.cache";
local errors = require "util.error";

-- Capabilities per affiliation (XEP-0060 §4.1 table 4). Each role grants what it lists.
local function caps(list)
	local set = {};
	for name in list:gmatch("%S+") do set[name] = true; end
	return set;
end

local SELF_SUBSCRIPTION = "subscribe unsubscribe get_subscription get_subscriptions be_subscribed be_unsubscribed";
local OTHERS = "subscribe_other unsubscribe_other get_subscription_other get_subscriptions_other";
local ALL_CAPS = "create publish retract delete get_nodes configure get_configuration get_items set_affiliation "
	.. SELF_SUBSCRIPTION .. " " .. OTHERS;

-- Every known capability is false unless the role's list grants it; capabilities that are not
-- mentioned at all for a role (e.g. delete for a member) stay nil, as unknown actions.
local function role(granted, known)
	local out = {};
	for name in (known or ALL_CAPS):gmatch("%S+") do out[name] = false; end
	for name in pairs(caps(granted)) do out[name] = true; end
	return out;
end

local BASE_KNOWN = "create publish retract get_nodes get_items set_affiliation " .. SELF_SUBSCRIPTION .. " " .. OTHERS;

local default_capabilities = {
	outcast = role("get_subscription get_subscriptions be_unsubscribed", BASE_KNOWN),
	none = role("get_nodes " .. SELF_SUBSCRIPTION, BASE_KNOWN),
	member = role("get_nodes get_items " .. SELF_SUBSCRIPTION, BASE_KNOWN),
	publisher = role("publish retract get_nodes get_configuration get_items " .. SELF_SUBSCRIPTION,
		BASE_KNOWN .. " get_configuration"),
	owner = role(ALL_CAPS),
};

local default_config = {
	max_items = 256,
	itemstore = function(node_config) return cache.new(node_config["max_items"]); end,
	broadcaster = function() end,
	subscriber_filter = function(subscribers) return subscribers; end,
	itemcheck = function() return true; end,
	get_affiliation = function() end,
	normalize_jid = function(jid) return jid; end,
	capabilities = default_capabilities,
};

local default_node_config = {
	persist_items = true,
	max_items = 20,
	access_model = "open",
	publish_model = "publishers",
	send_last_published_item = "never",
};

local service = {};
local service_mt = { __index = service };

local function with_defaults(config, defaults)
	return setmetatable(config, { __index = defaults });
end

-- Subscription index: subscriptions[bare-or-normalized jid][full jid][node] = true.
local function index_subscription(self, node, jid)
	local normal = self.config.normalize_jid(jid);
	local by_normal = self.subscriptions[normal];
	if not by_normal then
		by_normal = {};
		self.subscriptions[normal] = by_normal;
	end
	local nodes = by_normal[jid];
	if not nodes then
		nodes = {};
		by_normal[jid] = nodes;
	end
	nodes[node] = true;
	return normal;
end

local function unindex_subscription(self, node, jid)
	local normal = self.config.normalize_jid(jid);
	local by_normal = self.subscriptions[normal];
	if by_normal then
		local nodes = by_normal[jid];
		if nodes then
			nodes[node] = nil;
			if next(nodes) == nil then by_normal[jid] = nil; end
		end
		if next(by_normal) == nil then self.subscriptions[normal] = nil; end
	end
	return normal;
end

local function store_node(self, node_obj)
	local store = self.config.nodestore;
	if not store then return true; end
	return store:set(node_obj.name, {
		name = node_obj.name, config = node_obj.config,
		subscribers = node_obj.subscribers, affiliations = node_obj.affiliations,
	});
end

local function new(config)
	config = with_defaults(config or {}, default_config);
	local self = setmetatable({
		config = config,
		node_defaults = with_defaults(config.node_defaults or {}, default_node_config),
		affiliations = {}, subscriptions = {}, nodes = {}, data = {},
		events = events.new(),
	}, service_mt);

	-- Nodes come back from a store that can list its keys.
	local store = config.nodestore;
	if store and store.users then
		for name in store:users() do
			local node_obj = store:get(name);
			node_obj.config = with_defaults(node_obj.config or {}, self.node_defaults);
			self.nodes[name] = node_obj;
			if node_obj.config.persist_items then
				self.data[name] = config.itemstore(node_obj.config, name);
			end
			for jid in pairs(node_obj.subscribers) do index_subscription(self, name, jid); end
		end
	end
	return self;
end

function service:jids_equal(a, b)
	local normalize = self.config.normalize_jid;
	return normalize(a) == normalize(b);
end

-- The affiliation a JID has by the node's access model when nothing else is set.
function service:get_default_affiliation(node, actor)
	local node_obj = self.nodes[node];
	local model = node_obj and node_obj.config.access_model or self.node_defaults.access_model;
	if model == "open" then return "member"; end
	if model == "whitelist" then return "outcast"; end
	local checks = self.config.access_models;
	local check = checks and checks[model];
	if check then
		local affiliation = check(actor);
		if affiliation then return affiliation; end
	end
end

local function lookup(capabilities, affiliation, action)
	local set = capabilities and capabilities[affiliation];
	if set then return set[action]; end
end

function service:may(node, actor, action)
	if actor == true then return true; end
	local node_obj = self.nodes[node];
	local affiliation = node_obj and (node_obj.affiliations[actor]
		or node_obj.affiliations[self.config.normalize_jid(actor)]);
	affiliation = affiliation or self.affiliations[actor] or self.config.get_affiliation(actor, node, action);
	affiliation = affiliation or self:get_default_affiliation(node, actor) or "none";

	-- A node's own capability table overrides the service's for the actions it names.
	local can = lookup(node_obj and node_obj.capabilities, affiliation, action);
	if can == nil then can = lookup(self.config.capabilities, affiliation, action); end
	return can == true;
end

-- Subscriptions on one's own behalf use cap, on someone else's behalf cap .. "_other".
function service:own_or_other(actor, jid, cap)
	if actor == true or actor == jid or self:jids_equal(actor, jid) then return cap; end
	return cap .. "_other";
end

function service:set_affiliation(node, actor, jid, affiliation)
	if not self:may(node, actor, "set_affiliation") then return false, "forbidden"; end
	local node_obj = self.nodes[node];
	if not node_obj then return false, "item-not-found"; end
	jid = self.config.normalize_jid(jid);
	local previous = node_obj.affiliations[jid];
	node_obj.affiliations[jid] = affiliation;
	if not store_node(self, node_obj) then
		node_obj.affiliations[jid] = previous;
		return false, "internal-server-error";
	end
	-- A new affiliation may require or forbid a subscription.
	local _, subscribed = self:get_subscription(node, true, jid);
	if (not subscribed and not self:may(node, jid, "be_unsubscribed"))
		or (subscribed and not self:may(node, jid, "be_subscribed")) then
		local ok, err = self:add_subscription(node, true, jid);
		if not ok then return ok, err; end
	end
	return true;
end

function service:add_subscription(node, actor, jid, options)
	if not self:may(node, actor, self:own_or_other(actor, jid, "subscribe")) then return false, "forbidden"; end
	if not self:may(node, jid, "be_subscribed") then return false, "forbidden"; end
	local node_obj = self.nodes[node];
	if not node_obj then
		if not self.config.autocreate_on_subscribe then return false, "item-not-found"; end
		local ok, err = self:create(node, true);
		if not ok then return ok, err; end
		node_obj = self.nodes[node];
	end
	local previous = node_obj.subscribers[jid];
	node_obj.subscribers[jid] = options or true;
	local normal = index_subscription(self, node, jid);
	if not store_node(self, node_obj) then
		node_obj.subscribers[jid] = previous;
		if not previous then unindex_subscription(self, node, jid); end
		return false, "internal-server-error";
	end
	self.events.fire_event("subscription-added",
		{ service = self, node = node, jid = jid, normalized_jid = normal, options = options });
	return true;
end

function service:remove_subscription(node, actor, jid)
	if not self:may(node, actor, self:own_or_other(actor, jid, "unsubscribe")) then return false, "forbidden"; end
	if not self:may(node, jid, "be_unsubscribed") then return false, "forbidden"; end
	local node_obj = self.nodes[node];
	if not node_obj then return false, "item-not-found"; end
	local previous = node_obj.subscribers[jid];
	if not previous then return false, "not-subscribed"; end
	node_obj.subscribers[jid] = nil;
	local normal = unindex_subscription(self, node, jid);
	if not store_node(self, node_obj) then
		node_obj.subscribers[jid] = previous;
		index_subscription(self, node, jid);
		return false, "internal-server-error";
	end
	self.events.fire_event("subscription-removed", { service = self, node = node, jid = jid, normalized_jid = normal });
	return true;
end

function service:get_subscription(node, actor, jid)
	if not self:may(node, actor, self:own_or_other(actor, jid, "get_subscription")) then return false, "forbidden"; end
	local node_obj = self.nodes[node];
	if not node_obj then return false, "item-not-found"; end
	return true, node_obj.subscribers[jid];
end

function service:create(node, actor, options)
	if not self:may(node, actor, "create") then return false, "forbidden"; end
	if self.nodes[node] then return false, "conflict"; end
	local node_config = with_defaults(options or {}, self.node_defaults);
	local check = self.config.check_node_config;
	if check and not check(node, actor, node_config) then return false, "not-acceptable"; end

	local node_obj = { name = node, config = node_config, subscribers = {}, affiliations = {} };
	self.nodes[node] = node_obj;
	if not store_node(self, node_obj) then
		self.nodes[node] = nil;
		return false, "internal-server-error";
	end
	if node_config.persist_items then self.data[node] = self.config.itemstore(node_config, node); end
	self.events.fire_event("node-created", { service = self, node = node, actor = actor });
	if actor ~= true then
		local ok, err = self:set_affiliation(node, true, actor, "owner");
		if not ok then
			self.nodes[node], self.data[node] = nil, nil;
			return ok, err;
		end
	end
	return true;
end

function service:delete(node, actor)
	if not self:may(node, actor, "delete") then return false, "forbidden"; end
	local node_obj = self.nodes[node];
	if not node_obj then return false, "item-not-found"; end
	self.nodes[node] = nil;
	local items = self.data[node];
	if items and items.clear then items:clear(); end
	self.data[node] = nil;
	local store = self.config.nodestore;
	if store then
		local ok, err = store:set(node, nil);
		if not ok then return ok, err; end
	end
	self.events.fire_event("node-deleted", { service = self, node = node, actor = actor });
	self:broadcast("delete", node, node_obj.subscribers, nil, actor, node_obj);
	return true;
end

-- publish-options (XEP-0060 §7.1.5): every requested field must equal the node's.
local function unmet_precondition(node_config, required)
	for field, value in pairs(required) do
		if node_config[field] ~= value then return field; end
	end
end

function service:may_publish(node, actor)
	if self:may(node, actor, "publish") then return true; end
	local node_obj = self.nodes[node];
	local model = node_obj and node_obj.config.publish_model;
	return model == "open" or (model == "subscribers" and node_obj.subscribers[actor] ~= nil);
end

function service:publish(node, actor, id, item, requested_config)
	if not self:may_publish(node, actor) then return false, "forbidden"; end
	local node_obj = self.nodes[node];
	if not node_obj then
		if not self.config.autocreate_on_publish then return false, "item-not-found"; end
		local ok, err = self:create(node, true, requested_config);
		if not ok then return ok, err; end
		node_obj = self.nodes[node];
	elseif requested_config and not requested_config._defaults_only then
		local field = unmet_precondition(node_obj.config, requested_config);
		if field then
			local err = errors.new({ type = "cancel", condition = "conflict", text = "Field does not match: " .. field });
			err.pubsub_condition = "precondition-not-met";
			return false, err;
		end
	end
	if not self.config.itemcheck(item) then return nil, "invalid-item"; end
	if node_obj.config.persist_items then
		local items = self.data[node];
		if not items then
			items = self.config.itemstore(node_obj.config, node);
			self.data[node] = items;
		end
		local stored = items:set(id, item);
		if not stored then return nil, "internal-server-error"; end
		-- a store may assign the id itself
		if type(stored) == "string" then id = stored; end
	end
	local event = { service = self, node = node, actor = actor, id = id, item = item };
	self.events.fire_event("item-published/" .. node, event);
	self.events.fire_event("item-published", event);
	self:broadcast("items", node, node_obj.subscribers, item, actor, node_obj);
	return true;
end

function service:broadcast(kind, node, subscribers, item, actor, node_obj)
	subscribers = self.config.subscriber_filter(subscribers, node, kind);
	return self.config.broadcaster(kind, node, subscribers, item, actor, node_obj, self);
end

function service:retract(node, actor, id, retract)
	if not self:may(node, actor, "retract") then return false, "forbidden"; end
	local node_obj = self.nodes[node];
	if not node_obj then return false, "item-not-found"; end
	local items = self.data[node];
	if items then
		if not items:get(id) then return false, "item-not-found"; end
		if not items:set(id, nil) then return nil, "internal-server-error"; end
	end
	self.events.fire_event("item-retracted", { service = self, node = node, actor = actor, id = id });
	if retract then self:broadcast("retract", node, node_obj.subscribers, retract, actor, node_obj); end
	return true;
end

function service:purge(node, actor, notify)
	if not self:may(node, actor, "retract") then return false, "forbidden"; end
	local node_obj = self.nodes[node];
	if not node_obj then return false, "item-not-found"; end
	local items = self.data[node];
	if items then
		if items.clear then items:clear();
		else self.data[node] = self.config.itemstore(node_obj.config, node); end
	end
	self.events.fire_event("node-purged", { service = self, node = node, actor = actor });
	if notify then self:broadcast("purge", node, node_obj.subscribers, nil, actor, node_obj); end
	return true;
end

-- Returns true, { id1, id2, ..., [id] = item } (newest first for a cache store).
function service:get_items(node, actor, ids, resultspec)
	if not self:may(node, actor, "get_items") then return false, "forbidden"; end
	if not self.nodes[node] then return false, "item-not-found"; end
	local items = self.data[node];
	if not items then return false, "persistent-items-unsupported"; end
	if type(ids) == "string" then ids = { ids }; end
	local limit = resultspec and resultspec.max;
	local out = {};
	local function add(id, item)
		out[#out + 1] = id;
		out[id] = item;
		return limit and #out >= limit;
	end
	if ids then
		for _, id in ipairs(ids) do
			local item = items:get(id);
			if item and add(id, item) then break; end
		end
	else
		for id, item in items:items() do
			if add(id, item) then break; end
		end
	end
	return true, out;
end

function service:get_last_item(node, actor)
	if not self:may(node, actor, "get_items") then return false, "forbidden"; end
	if not self.nodes[node] then return false, "item-not-found"; end
	local items = self.data[node];
	if not items then return true, nil; end
	return true, items:head();
end

function service:get_nodes(actor)
	if not self:may(nil, actor, "get_nodes") then return false, "forbidden"; end
	return true, self.nodes;
end

local function collect_subscriptions(out, self, by_jid, node, node_obj)
	for jid, nodes in pairs(by_jid) do
		if node then
			if nodes[node] then
				out[#out + 1] = { node = node, jid = jid, subscription = node_obj.subscribers[jid] };
			end
		else
			for name in pairs(nodes) do
				out[#out + 1] = { node = name, jid = jid, subscription = self.nodes[name].subscribers[jid] };
			end
		end
	end
end

function service:get_subscriptions(node, actor, jid)
	if not self:may(node, actor, self:own_or_other(actor, jid, "get_subscriptions")) then return false, "forbidden"; end
	local node_obj;
	if node then
		node_obj = self.nodes[node];
		if not node_obj then return false, "item-not-found"; end
	end
	local out = {};
	if jid == nil then
		for _, by_jid in pairs(self.subscriptions) do collect_subscriptions(out, self, by_jid, node, node_obj); end
	else
		local by_jid = self.subscriptions[self.config.normalize_jid(jid)];
		if by_jid then collect_subscriptions(out, self, by_jid, node, node_obj); end
	end
	return true, out;
end

function service:set_node_capabilities(node, actor, capabilities)
	if not self:may(node, actor, "configure") then return false, "forbidden"; end
	local node_obj = self.nodes[node];
	if not node_obj then return false, "item-not-found"; end
	node_obj.capabilities = capabilities;
	return true;
end

-- Applies the effects of a configuration change on subscribers and the item store.
function service:apply_config_change(node, node_obj, old)
	local new_config = node_obj.config;
	if old.access_model ~= new_config.access_model then
		for subscriber in pairs(node_obj.subscribers) do
			if not self:may(node, subscriber, "be_subscribed") then
				local ok, err = self:remove_subscription(node, true, subscriber);
				if not ok then return ok, err; end
			end
		end
	end
	if old.persist_items ~= new_config.persist_items then
		if new_config.persist_items then
			self.data[node] = self.config.itemstore(new_config, node);
		elseif self.data[node] then
			if self.data[node].clear then self.data[node]:clear(); end
			self.data[node] = nil;
		end
	elseif old.max_items ~= new_config.max_items and self.data[node] then
		local size = new_config.max_items;
		if size == "max" then size = self.config.max_items; end
		self.data[node]:resize(size);
	end
	return true;
end

function service:set_node_config(node, actor, new_config)
	if not self:may(node, actor, "configure") then return false, "forbidden"; end
	local node_obj = self.nodes[node];
	if not node_obj then return false, "item-not-found"; end
	with_defaults(new_config, self.node_defaults);
	local check = self.config.check_node_config;
	if check and not check(node, actor, new_config) then return false, "not-acceptable"; end
	local old = node_obj.config;
	node_obj.config = new_config;
	if not store_node(self, node_obj) then
		node_obj.config = old;
		return false, "internal-server-error";
	end
	local ok, err = self:apply_config_change(node, node_obj, old);
	if not ok then
		node_obj.config = old;
		return ok, err;
	end
	return true;
end

-- A flat copy: built-in defaults, then the service's defaults, then the node's own settings.
function service:get_node_config(node, actor)
	if not self:may(node, actor, "get_configuration") then return false, "forbidden"; end
	local node_obj = self.nodes[node];
	if not node_obj then return false, "item-not-found"; end
	local flat = {};
	for _, layer in ipairs({ default_node_config, self.node_defaults, node_obj.config }) do
		for k, v in pairs(layer) do flat[k] = v; end
	end
	return true, flat;
end

return { new = new };
