using LuaXmpp.Events;
using LuaXmpp.Hosts;
using LuaXmpp.Logging;
using LuaXmpp.Storage;
using LuaXmpp.Xml;

namespace LuaXmpp.Hosting;

/// <summary>
/// What a native module sees of the server: the C# counterpart of Prosody's <c>module</c> object
/// for one module on one host. Everything hooked or added through it goes away on unload.
/// </summary>
public sealed class ModuleContext : IDisposable
{
    private readonly List<IDisposable> _subscriptions = new();

    public ModuleContext(IProsody prosody, HostContext host, string name)
    {
        Server = prosody;
        Host = host;
        Name = name;
        Log = Logger.For(host.Name + ":" + name);
    }

    /// <summary>The <c>prosody</c> global: hosts, sessions, router, storage, auth, events, modules.</summary>
    public IProsody Server { get; }

    public HostContext Host { get; }

    public string Name { get; }

    public Logger Log { get; }

    /// <summary>module:hook: on this host's events.</summary>
    public void Hook(string name, EventCallback callback, double priority = 0) =>
        _subscriptions.Add(Host.Events.Hook(name, callback, priority, this));

    /// <summary>module:hook_global.</summary>
    public void HookGlobal(string name, EventCallback callback, double priority = 0) =>
        _subscriptions.Add(Server.GlobalEvents.Hook(name, callback, priority, this));

    public void AddFeature(string feature) => Host.Items.Add("feature", feature, this);

    public void AddIdentity(string category, string type, string? name = null) =>
        Host.Items.Add("identity", new DiscoIdentity(category, type, name), this);

    public void AddItem(string key, object item) => Host.Items.Add(key, item, this);

    /// <summary>The host's option, falling back to the global one.</summary>
    public object? GetOption(string key) => Server.Config.Get(Host.Name, key);

    public string? GetOptionString(string key, string? fallback = null) => Server.Config.GetString(Host.Name, key) ?? fallback;

    public double GetOptionNumber(string key, double fallback) => Server.Config.GetNumber(Host.Name, key) ?? fallback;

    public bool GetOptionBoolean(string key, bool fallback) => Server.Config.GetBoolean(Host.Name, key, fallback);

    public IKeyValueStore OpenKeyValue(string store) => Server.Storage.OpenKeyValue(Host.Name, store);

    public IMapStore OpenMap(string store) => Server.Storage.OpenMap(Host.Name, store);

    public IArchiveStore OpenArchive(string store) => Server.Storage.OpenArchive(Host.Name, store);

    /// <summary>module:send: routes a stanza from this host.</summary>
    public void Send(XmlElement stanza) => Server.Router.Route(Host.Session, stanza);

    public override string ToString() => "mod_" + Name + " on " + Host.Name;

    /// <summary>module:fire_event on this host, for a caller that does not use the outcome (see <see cref="EventBus.Fire"/>).</summary>
    public object? FireEvent(string name, EventData data) => Host.Events.Fire(name, data);

    /// <summary>
    /// module:fire_event on this host for a caller that reads the result or the event afterwards:
    /// completes when the chain has, a handler's wait included (synchronously when none waited).
    /// </summary>
    public ValueTask<object?> FireEventAsync(string name, EventData data) => Host.Events.FireAsync(name, data);

    public void Dispose()
    {
        foreach (var s in _subscriptions) s.Dispose();
        _subscriptions.Clear();
        Host.Items.RemoveAllFrom(this);
    }
}
