using KeraLua;

namespace LuaXmpp.LuaBridge.Libraries;

/// <summary>
/// util.table: <c>create(narr, nrec)</c>, a table with preallocated slots (lua_createtable), and
/// <c>pack(...)</c>, the arguments in a table with their count in <c>n</c>.
/// </summary>
internal sealed class TableLibrary : INativeLibrary
{
    private const int MaxPrealloc = 1 << 24;

    private static readonly LuaFunction CreateFn = Create;

    public string Name => "util.table";

    public IReadOnlyList<NativeFunction> Functions { get; } = [new("create", CreateFn)];

    public string Shim => """
        local raw = ...
        local function create(narr, nrec)
          if type(narr) ~= "number" or type(nrec) ~= "number" then
            error("bad argument to 'create' (number expected)", 2)
          end
          return raw.create(narr, nrec)
        end
        return { create = create, pack = table.pack }
        """;

    private static int Create(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        // Clamp the hints: they are only an optimisation and must not exhaust memory.
        int narr = (int)Math.Clamp(lua.ToInteger(1), 0, MaxPrealloc);
        int nrec = (int)Math.Clamp(lua.ToInteger(2), 0, MaxPrealloc);
        lua.CreateTable(narr, nrec);
        return 1;
    });
}
