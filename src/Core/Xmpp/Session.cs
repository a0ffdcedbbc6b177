using LuaXmpp.Logging;
using LuaXmpp.Xml;

namespace LuaXmpp.Xmpp;

/// <summary>
/// Anything a stanza can come from or go to: a client session, or the host itself when the
/// server originates a stanza (Prosody's <c>hosts[host]</c> as origin).
/// </summary>
public abstract class Session
{
    private Dictionary<string, object?>? _fields;

    protected Session(string type, string host, Logger log)
    {
        Type = type;
        Host = host;
        Log = log;
    }

    /// <summary>Prosody's session.type: "c2s_unauthed", "c2s", "local", ...</summary>
    public string Type
    {
        get => _type;
        set { _type = value; IdentityChanged?.Invoke(this); }
    }

    /// <summary>The local host this session belongs to.</summary>
    public string Host
    {
        get => _host;
        set { _host = value; IdentityChanged?.Invoke(this); }
    }

    private string _type = "";
    private string _host = "";

    /// <summary>
    /// Told after Type, Host (and a client session's Username, Resource, FullJid, Destroyed)
    /// changed: the Lua bridge keeps its copy of these fields for Lua's reads (docs/BRIDGE.md).
    /// </summary>
    public Action<Session>? IdentityChanged { get; set; }

    public Logger Log { get; }

    /// <summary>Fields modules keep on the session (session.foo = ...), by name.</summary>
    public Dictionary<string, object?> Fields => _fields ??= new Dictionary<string, object?>(StringComparer.Ordinal);

    /// <summary>Owned by the Lua bridge: the session's Lua table, once Lua has seen it.</summary>
    public object? LuaTable { get; set; }

    /// <summary>Delivers a stanza (or nonza) to whatever is at the other end of this session.</summary>
    public abstract void Send(XmlElement element);
}
