namespace LuaXmpp.LuaBridge.Interop;

/// <summary>
/// A registry reference to a Lua value held by C# (a session table, an item, a handler).
/// Released explicitly on the loop thread; there is no finalizer because the Lua state may
/// only be touched from the loop.
/// </summary>
internal sealed class LuaRef(int reference)
{
    /// <summary>LUA_NOREF.</summary>
    public const int NoRef = -2;

    public int Reference { get; private set; } = reference;

    public bool IsReleased => Reference == NoRef;

    /// <summary>Clears the reference and returns the registry slot to free (NoRef if already released).</summary>
    public int Take()
    {
        int r = Reference;
        Reference = NoRef;
        return r;
    }
}
