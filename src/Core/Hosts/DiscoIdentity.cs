namespace LuaXmpp.Hosts;

/// <summary>A disco#info identity item (XEP-0030 §3.1), as module:add_identity adds it.</summary>
public sealed record DiscoIdentity(string Category, string Type, string? Name = null);
