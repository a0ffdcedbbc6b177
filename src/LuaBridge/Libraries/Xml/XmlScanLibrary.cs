using KeraLua;

namespace LuaXmpp.LuaBridge.Libraries.Xml;

/// <summary>
/// luaxmpp.xmlscan: the native half of util.xml and util.xmppstream. <c>scan(bytes)</c> returns
/// an array of tokens and the number of bytes they used (see <see cref="XmlTokenScanner"/>).
/// A token is <c>{ kind, text, attrs, self_closing, end_offset }</c> where attrs is a flat array
/// <c>{ name1, value1, name2, value2, ... }</c> in document order.
/// </summary>
internal sealed class XmlScanLibrary : INativeLibrary
{
    private static readonly LuaFunction ScanFn = Scan;

    private static readonly string[] KindNames =
        ["start", "end", "text", "cdata", "comment", "pi", "decl", "doctype", "error"];

    public string Name => "luaxmpp.xmlscan";

    public IReadOnlyList<NativeFunction> Functions { get; } = [new("scan", ScanFn)];

    public string Shim => """
        local raw = ...
        return {
          scan = function(data)
            if type(data) ~= "string" then error("bad argument #1 to 'scan' (string expected)", 2) end
            local tokens, used = raw.scan(data)
            if tokens == nil then return { { "error", tostring(used) } }, 0 end
            return tokens, used
          end,
        }
        """;

    private static int Scan(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        var data = NativeBoundary.OptBytes(lua, 1) ?? [];
        var (tokens, consumed) = XmlTokenScanner.Scan(data);
        lua.CreateTable(tokens.Count, 0);
        for (int i = 0; i < tokens.Count; i++)
        {
            PushToken(lua, tokens[i]);
            lua.RawSetInteger(-2, i + 1);
        }
        lua.PushInteger(consumed);
        return 2;
    });

    private static void PushToken(Lua lua, XmlToken token)
    {
        lua.CreateTable(4, 0);
        lua.PushString(KindNames[(int)token.Kind]);
        lua.RawSetInteger(-2, 1);
        NativeBoundary.PushUtf8(lua, token.Text);
        lua.RawSetInteger(-2, 2);
        if (token.Attributes is { } attributes)
        {
            lua.CreateTable(attributes.Count * 2, 0);
            int n = 0;
            foreach (var (name, value) in attributes)
            {
                NativeBoundary.PushUtf8(lua, name);
                lua.RawSetInteger(-2, ++n);
                NativeBoundary.PushUtf8(lua, value);
                lua.RawSetInteger(-2, ++n);
            }
            lua.RawSetInteger(-2, 3);
        }
        lua.PushBoolean(token.SelfClosing);
        lua.RawSetInteger(-2, 4);
        lua.PushInteger(token.End);
        lua.RawSetInteger(-2, 5);
    }
}
