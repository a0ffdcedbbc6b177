using KeraLua;
using LuaXmpp.LuaBridge.Interop;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.LuaBridge.Marshalling;

/// <summary>
/// Converts between <see cref="XmlElement"/> and util.stanza tables
/// <c>{name, attr, tags, [1..n] = children}</c> whose metatable is util.stanza's stanza_mt.
/// </summary>
/// <remarks>
/// COMPAT (contract §4.1, util/xmppstream.lua): elements in the stream's default namespace
/// (jabber:client) carry no attr.xmlns, and neither do their jabber:client children; once an
/// element is in another namespace, it and every descendant carry xmlns explicitly, including
/// jabber:client elements nested inside (a forwarded message). Going back, an element without
/// xmlns takes its parent's namespace (jabber:client at the top). Attribute names are already
/// in Prosody's form ("xml:lang", "ns\u0001local").
/// </remarks>
/// <remarks>
/// Lazy stanzas (issue 11): <see cref="PushLazy"/> pushes an empty table with util.stanza's
/// lazy_mt and a handle; Lua's first touch calls <see cref="Fill"/>, which fills that same table
/// from the element and gives it stanza_mt. Until then the C# element is the stanza: reading a
/// lazy table back costs nothing (<see cref="ReadInto"/> onto its own element) or a clone.
/// </remarks>
internal sealed class StanzaMarshaller(Func<Lua, bool> pushMetatable, Func<Lua, bool> pushLazyMetatable, Func<Lua, bool> pushLazyLive)
{
    private const int MaxDepth = 256;
    private const string LazyId = "_lazy_id";

    // Elements of lazy tables, by handle. Handles are reused once their table is filled or
    // collected, so that util.stanza's lazy_live stays a dense array (no new key per stanza).
    private XmlElement?[] _lazy = new XmlElement?[64];
    private int[] _freeHandles = new int[64];
    private int _free;
    private int _highHandle;
    private int _lazyCount;

    /// <summary>Lazy stanzas not yet filled nor collected (tests, diagnostics).</summary>
    public int LazyCount => _lazyCount;

    /// <summary>Pushes a new stanza table for <paramref name="element"/>.</summary>
    public void Push(Lua lua, XmlElement element) => Push(lua, element, foreign: false, depth: 0);

    /// <summary>
    /// A handle for a lazy stanza Lua makes itself (bridge.dispatch, with util.stanza's lazy_mt
    /// and lazy_live): the element is held until the table is filled or collected.
    /// </summary>
    public long Register(XmlElement element)
    {
        int id = _free > 0 ? _freeHandles[--_free] : ++_highHandle;
        if (id >= _lazy.Length) Array.Resize(ref _lazy, _lazy.Length * 2);
        _lazy[id] = element;
        _lazyCount++;
        return id;
    }

    // The element whose lazy table Lua made last, and its handle (one entry: a pass fires its
    // chains with one element, several EventData of a pass carry the same one).
    private XmlElement? _lastLazy;
    private int _lastLazyHandle;

    /// <summary>
    /// The handle for <paramref name="element"/>'s lazy table: the one it already has while that
    /// table is neither filled nor collected (bridge.dispatch then reuses the table, still in
    /// util.stanza's lazy_live, as Prosody hands the same stanza table to every event of a pass),
    /// else a new one (<see cref="Register"/>).
    /// </summary>
    public long LazyHandle(XmlElement element)
    {
        if (ReferenceEquals(_lastLazy, element) && ReferenceEquals(_lazy[_lastLazyHandle], element)) return _lastLazyHandle;
        long id = Register(element);
        _lastLazy = element;
        _lastLazyHandle = (int)id;
        return id;
    }

    private XmlElement? Take(long id)
    {
        if (id <= 0 || id > _highHandle || _lazy[id] is not { } element) return null;
        _lazy[id] = null;
        _lazyCount--;
        if (_free == _freeHandles.Length) Array.Resize(ref _freeHandles, _freeHandles.Length * 2);
        _freeHandles[_free++] = (int)id;
        return element;
    }

    /// <summary>
    /// Pushes a lazy stanza for <paramref name="element"/>: converted only when Lua first touches
    /// it. The element must not be changed by C# while Lua may still fill the table from it,
    /// except as the same stanza (the pass's own changes), which Lua then sees as Prosody would.
    /// </summary>
    public void PushLazy(Lua lua, XmlElement element)
    {
        lua.EnsureStack(4);
        // As small as bridge.dispatch makes it: most lazy stanzas are never filled, and
        // every byte allocated costs the collector (Prosody's settings) several times over.
        lua.CreateTable(0, 1);
        if (!pushLazyMetatable(lua))
        {
            lua.Pop(1);
            Push(lua, element);
            return;
        }
        long id = Register(element);
        lua.PushInteger(id);
        lua.RawSetField(-3, LazyId);
        lua.SetMetaTable(-2);
        if (pushLazyLive(lua))
        {
            lua.PushCopy(-2);
            lua.RawSetInteger(-2, id);
            lua.Pop(1);
        }
    }

    /// <summary>stanza_fill(t, id): fills the lazy table at the index from its element (util.stanza's filler).</summary>
    public void Fill(Lua lua, int index, long id)
    {
        var element = Take(id) ?? throw new InvalidOperationException("the stanza is gone");
        Fill(lua, lua.AbsIndex(index), element, foreign: false, depth: 0);
    }

    /// <summary>
    /// Forgets the elements of lazy tables Lua collected unfilled (gone from util.stanza's
    /// weak lazy_live table); returns how many are still held.
    /// </summary>
    public int Sweep(Lua lua)
    {
        if (!pushLazyLive(lua)) return _lazyCount;
        int live = lua.GetTop();
        for (int id = 1; id <= _highHandle; id++)
        {
            if (_lazy[id] is null) continue;
            if (lua.RawGetInteger(live, id) == LuaType.Nil) Take(id);
            lua.Pop(1);
        }
        lua.Pop(1);
        return _lazyCount;
    }

    /// <summary>The element behind a lazy table that was never filled, else null.</summary>
    private XmlElement? LazyElement(Lua lua, int index)
    {
        if (lua.RawGetField(index, LazyId) != LuaType.Number)
        {
            lua.Pop(1);
            return null;
        }
        long id = lua.ToInteger(-1);
        lua.Pop(1);
        return id > 0 && id <= _highHandle ? _lazy[id] : null;
    }

    /// <summary>True if the value at the index is a table with stanza_mt (or util.stanza's lazy_mt).</summary>
    public bool IsStanza(Lua lua, int index)
    {
        if (lua.Type(index) != LuaType.Table) return false;
        if (!lua.GetMetaTable(index)) return false;
        bool has = pushMetatable(lua);
        bool same = has && lua.RawEqual(-1, -2);
        lua.Pop(has ? 1 : 0);
        if (!same && pushLazyMetatable(lua))
        {
            same = lua.RawEqual(-1, -2);
            lua.Pop(1);
        }
        lua.Pop(1);
        return same;
    }

    /// <summary>Reads the stanza table at the index into a new element.</summary>
    public XmlElement Read(Lua lua, int index, string parentNamespace = Namespaces.Client)
    {
        index = lua.AbsIndex(index);
        if (LazyElement(lua, index) is { } lazy) return lazy.Clone();
        var element = new XmlElement("x", parentNamespace);
        ReadInto(lua, index, element, parentNamespace, 0);
        return element;
    }

    /// <summary>Overwrites <paramref name="target"/> with the stanza table at the index, keeping the object identity.</summary>
    public void ReadInto(Lua lua, int index, XmlElement target) => ReadInto(lua, index, target, Namespaces.Client, 0);

    private static void CopyInto(XmlElement source, XmlElement target)
    {
        if (ReferenceEquals(source, target)) return;
        target.Name = source.Name;
        target.Namespace = source.Namespace;
        target.Attributes.Clear();
        target.Attributes.AddRange(source.Attributes);
        target.Children.Clear();
        foreach (var child in source.Children) target.Children.Add(child.CloneNode());
    }

    private void Push(Lua lua, XmlElement element, bool foreign, int depth)
    {
        lua.EnsureStack(8);
        lua.CreateTable(element.Children.Count, 3);
        Fill(lua, lua.GetTop(), element, foreign, depth);
    }

    private void Fill(Lua lua, int table, XmlElement element, bool foreign, int depth)
    {
        if (depth > MaxDepth) throw new InvalidOperationException("stanza too deep");
        lua.EnsureStack(8);
        foreign |= element.Namespace != Namespaces.Client;
        int elementCount = 0;
        foreach (var c in element.Children) if (c is XmlElement) elementCount++;

        lua.PushString(element.Name);
        lua.RawSetField(table, "name");

        lua.CreateTable(0, element.Attributes.Count + (foreign ? 1 : 0));
        if (foreign)
        {
            lua.PushString(element.Namespace);
            lua.RawSetField(-2, "xmlns");
        }
        foreach (var a in element.Attributes)
        {
            lua.PushString(a.Value);
            lua.RawSetField(-2, a.Name);
        }
        lua.RawSetField(table, "attr");

        lua.CreateTable(elementCount, 0);
        int tags = lua.GetTop();
        long n = 0, t = 0;
        foreach (var c in element.Children)
        {
            if (c is XmlElement child)
            {
                Push(lua, child, foreign, depth + 1);
                lua.PushCopy(-1);
                lua.RawSetInteger(tags, ++t);
                lua.RawSetInteger(table, ++n);
            }
            else if (c is XmlText text)
            {
                lua.PushString(text.Value);
                lua.RawSetInteger(table, ++n);
            }
        }
        lua.RawSetField(table, "tags");
        if (pushMetatable(lua)) lua.SetMetaTable(table);
    }

    private void ReadInto(Lua lua, int index, XmlElement target, string parentNamespace, int depth)
    {
        if (depth > MaxDepth) throw new InvalidOperationException("stanza too deep");
        // Each level holds its child (and the attr table, key and value while reading those):
        // without this a deep stanza writes past the stack (it only used to fit when an earlier
        // push on the same state had grown the stack).
        lua.EnsureStack(6);
        index = lua.AbsIndex(index);
        if (lua.Type(index) != LuaType.Table) throw new ArgumentException("not a stanza");
        lua.RawGetField(index, "name");
        var name = lua.OptString(-1);
        lua.Pop(1);
        if (name is null)
        {
            // A lazy stanza Lua never touched (the event's own, or one added as a child).
            var lazy = LazyElement(lua, index) ?? throw new ArgumentException("stanza without a name");
            CopyInto(lazy, target);
            return;
        }
        target.Name = name;
        target.Attributes.Clear();
        target.Children.Clear();
        target.Namespace = parentNamespace;

        if (lua.RawGetField(index, "attr") == LuaType.Table)
        {
            int attr = lua.GetTop();
            lua.PushNil();
            while (lua.Next(attr))
            {
                var key = lua.OptString(-2);
                var value = lua.RawString(-1);
                lua.Pop(1);
                if (key is null || value is null) continue;
                if (key == "xmlns") target.Namespace = value;
                else target.Attributes.Add(new XmlAttribute(key, value));
            }
        }
        lua.Pop(1);

        long count = lua.RawLen(index);
        for (long i = 1; i <= count; i++)
        {
            var type = lua.RawGetInteger(index, i);
            if (type == LuaType.Table)
            {
                var child = new XmlElement("x", target.Namespace);
                ReadInto(lua, -1, child, target.Namespace, depth + 1);
                target.Children.Add(child);
            }
            else if (type is LuaType.String or LuaType.Number)
            {
                var text = lua.RawString(-1)!;
                if (target.Children.Count > 0 && target.Children[^1] is XmlText previous) previous.Value += text;
                else target.Children.Add(new XmlText(text));
            }
            lua.Pop(1);
        }
    }
}
