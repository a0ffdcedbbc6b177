using System.Security.Cryptography;
using KeraLua;

namespace LuaXmpp.LuaBridge.Libraries;

/// <summary>
/// util.crand: <c>bytes(n)</c>, n bytes from the operating system's CSPRNG. util.random prefers it
/// to reading /dev/urandom, which does not exist on Windows.
/// </summary>
internal sealed class CryptoRandomLibrary : INativeLibrary
{
    private const int MaxBytes = 1 << 20;

    private static readonly LuaFunction BytesFn = Bytes;

    public string Name => "util.crand";

    public IReadOnlyList<NativeFunction> Functions { get; } = [new("bytes", BytesFn)];

    public string Shim => """
        local raw = ...
        local function bytes(n)
          if math.type(n) ~= "integer" and not (type(n) == "number" and n % 1 == 0) then
            error("bad argument #1 to 'bytes' (integer expected)", 2)
          end
          local b, err = raw.bytes(math.tointeger(n))
          if not b then error(err, 2) end
          return b
        end
        return { bytes = bytes, _source = "System.Security.Cryptography.RandomNumberGenerator" }
        """;

    private static int Bytes(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        long n = lua.ToInteger(1);
        if (n < 0 || n > MaxBytes) return NativeBoundary.Fail(lua, "byte count out of range");
        lua.PushBuffer(RandomNumberGenerator.GetBytes((int)n));
        return 1;
    });
}
