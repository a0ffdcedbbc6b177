using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Events;

/// <summary>
/// The payload of an event: Prosody's event table. <see cref="Origin"/> and <see cref="Stanza"/>
/// are the common fields; anything else a module puts on the event lives in <see cref="Fields"/>.
/// Handlers hand data on by replacing <see cref="Stanza"/>, as in Prosody.
/// </summary>
public sealed class EventData
{
    private Dictionary<string, object?>? _fields;

    public EventData(Session? origin = null, XmlElement? stanza = null)
    {
        Origin = origin;
        Stanza = stanza;
    }

    /// <summary>event.origin: the session the stanza came from.</summary>
    public Session? Origin { get; set; }

    /// <summary>event.stanza.</summary>
    public XmlElement? Stanza { get; set; }

    /// <summary>Other event fields (session, to_self, reason, ...), by Prosody's names.</summary>
    public Dictionary<string, object?> Fields => _fields ??= new Dictionary<string, object?>(StringComparer.Ordinal);

    /// <summary>Whether any field is set (without making the dictionary).</summary>
    public bool HasFields => _fields is { Count: > 0 };

    public object? this[string key]
    {
        get => _fields is not null && _fields.TryGetValue(key, out var v) ? v : null;
        set => Fields[key] = value;
    }

    /// <summary>
    /// Owned by the Lua bridge: the Lua table this event is, when Lua fired it or a Lua handler
    /// has seen it, so that every Lua handler in one chain sees the same table.
    /// </summary>
    public object? LuaTable { get; set; }
}
