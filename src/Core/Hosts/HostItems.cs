using LuaXmpp.Events;

namespace LuaXmpp.Hosts;

/// <summary>
/// Prosody's host items (module:add_item / module:get_host_items): named lists such as
/// "feature", "identity" and "extension" that modules fill and disco reads. Adding and removing
/// fire "item-added/KEY" and "item-removed/KEY" with fields item and source.
/// </summary>
public sealed class HostItems(EventBus events)
{
    private readonly Dictionary<string, List<(object Item, object? Source)>> _items = new(StringComparer.Ordinal);

    public void Add(string key, object item, object? source = null)
    {
        if (!_items.TryGetValue(key, out var list)) _items[key] = list = new();
        list.Add((item, source));
        var e = new EventData();
        e["item"] = item;
        e["source"] = source;
        events.Fire("item-added/" + key, e);
    }

    public bool Remove(string key, object item)
    {
        if (!_items.TryGetValue(key, out var list)) return false;
        int i = list.FindIndex(x => Equals(x.Item, item));
        if (i < 0) return false;
        var source = list[i].Source;
        list.RemoveAt(i);
        var e = new EventData();
        e["item"] = item;
        e["source"] = source;
        events.Fire("item-removed/" + key, e);
        return true;
    }

    /// <summary>Removes every item a source (module) added, firing item-removed for each.</summary>
    public void RemoveAllFrom(object source)
    {
        foreach (var (key, list) in _items.ToArray())
        {
            foreach (var (item, src) in list.ToArray())
            {
                if (Equals(src, source)) Remove(key, item);
            }
        }
    }

    public IReadOnlyList<object> Get(string key) =>
        _items.TryGetValue(key, out var list) ? list.Select(x => x.Item).ToArray() : [];
}
