namespace LuaXmpp.Components;

/// <summary>
/// Which external component is connected for which domain. Loop-thread only: the stream
/// handlers attach and detach sessions, mod_component's handlers look them up.
/// </summary>
public sealed class ComponentRegistry
{
    private readonly Dictionary<string, ComponentSession> _connected = new(StringComparer.Ordinal);

    public ComponentSession? Find(string domain) => _connected.GetValueOrDefault(domain);

    /// <summary>False when another connection already serves the domain.</summary>
    public bool TryAttach(ComponentSession session) => _connected.TryAdd(session.Host, session);

    public void Detach(ComponentSession session)
    {
        if (_connected.TryGetValue(session.Host, out var current) && ReferenceEquals(current, session))
            _connected.Remove(session.Host);
    }
}
