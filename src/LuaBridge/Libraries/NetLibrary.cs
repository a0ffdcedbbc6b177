using System.Net;
using System.Net.Sockets;
using KeraLua;

namespace LuaXmpp.LuaBridge.Libraries;

/// <summary>
/// util.net: <c>pton(text)</c> → the 4 or 16 address bytes, <c>ntop(bytes)</c> → the address in
/// its canonical text form (RFC 5952 for IPv6), and <c>local_addresses()</c>.
/// </summary>
internal sealed class NetLibrary : INativeLibrary
{
    private static readonly LuaFunction PtonFn = Pton;
    private static readonly LuaFunction NtopFn = Ntop;

    public string Name => "util.net";

    public IReadOnlyList<NativeFunction> Functions { get; } = [new("pton", PtonFn), new("ntop", NtopFn)];

    public string Shim => """
        local raw = ...
        return {
          pton = function(s)
            if type(s) ~= "string" then error("bad argument #1 to 'pton' (string expected)", 2) end
            return raw.pton(s)
          end,
          ntop = function(b)
            if type(b) ~= "string" then error("bad argument #1 to 'ntop' (string expected)", 2) end
            return raw.ntop(b)
          end,
          local_addresses = function() return {} end,
        }
        """;

    private static int Pton(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        var text = lua.ToString(1);
        // IPAddress.TryParse also accepts forms inet_pton refuses ("1", "1.2.3", zones); insist on the plain ones.
        bool plausible = text.Contains(':') || (text.Count(c => c == '.') == 3 && text.All(c => char.IsAsciiDigit(c) || c == '.'));
        if (!plausible || text.Contains('%') || !IPAddress.TryParse(text, out var address))
            return NativeBoundary.Fail(lua, "invalid-address");
        lua.PushBuffer(address.GetAddressBytes());
        return 1;
    });

    private static int Ntop(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        var bytes = NativeBoundary.OptBytes(lua, 1) ?? [];
        if (bytes.Length is not (4 or 16)) return NativeBoundary.Fail(lua, "invalid-address");
        var address = new IPAddress(bytes);
        // .NET writes IPv4-mapped addresses as ::ffff:a.b.c.d, as inet_ntop does.
        lua.PushString(address.AddressFamily == AddressFamily.InterNetworkV6 ? address.ToString().ToLowerInvariant() : address.ToString());
        return 1;
    });
}
