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
internal sealed class StanzaMarshaller(Func<Lua, bool> pushMetatable)
{
    private const int MaxDepth = 256;

    /// <summary>Pushes a new stanza table for <paramref name="element"/>.</summary>
    public void Push(Lua lua, XmlElement element) => Push(lua, element, foreign: false, depth: 0);

    /// <summary>True if the value at the index is a table with stanza_mt.</summary>
    public bool IsStanza(Lua lua, int index)
    {
        if (lua.Type(index) != LuaType.Table) return false;
        if (!lua.GetMetaTable(index)) return false;
        bool has = pushMetatable(lua);
        bool same = has && lua.RawEqual(-1, -2);
        lua.Pop(has ? 2 : 1);
        return same;
    }

    /// <summary>Reads the stanza table at the index into a new element.</summary>
    public XmlElement Read(Lua lua, int index, string parentNamespace = Namespaces.Client)
    {
        var element = new XmlElement("x", parentNamespace);
        ReadInto(lua, index, element, parentNamespace, 0);
        return element;
    }

    /// <summary>Overwrites <paramref name="target"/> with the stanza table at the index, keeping the object identity.</summary>
    public void ReadInto(Lua lua, int index, XmlElement target) => ReadInto(lua, index, target, Namespaces.Client, 0);

    private void Push(Lua lua, XmlElement element, bool foreign, int depth)
    {
        if (depth > MaxDepth) throw new InvalidOperationException("stanza too deep");
        lua.EnsureStack(8);
        foreign |= element.Namespace != Namespaces.Client;
        int elementCount = 0;
        foreach (var c in element.Children) if (c is XmlElement) elementCount++;

        lua.CreateTable(element.Children.Count, 3);
        int table = lua.GetTop();
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
        else lua.Pop(1);
    }

    private void ReadInto(Lua lua, int index, XmlElement target, string parentNamespace, int depth)
    {
        if (depth > MaxDepth) throw new InvalidOperationException("stanza too deep");
        index = lua.AbsIndex(index);
        if (lua.Type(index) != LuaType.Table) throw new ArgumentException("not a stanza");
        lua.RawGetField(index, "name");
        target.Name = lua.OptString(-1) ?? throw new ArgumentException("stanza without a name");
        lua.Pop(1);
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
