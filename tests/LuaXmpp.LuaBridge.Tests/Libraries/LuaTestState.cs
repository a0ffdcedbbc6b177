using KeraLua;
using LuaXmpp.LuaBridge.Libraries;

namespace LuaXmpp.Tests.Libraries;

/// <summary>
/// A fresh Lua 5.4 state with the standard libraries and <see cref="LuaLibraries"/> installed.
/// <see cref="Run"/> executes a snippet; a Lua error (a failed assert) fails the test with the
/// Lua message and traceback.
/// </summary>
public abstract class LuaTestState : IDisposable
{
    private readonly Lua _lua;

    protected LuaTestState(TimeProvider? time = null)
    {
        _lua = new Lua();
        _lua.OpenLibs();
        LuaLibraries.Install(_lua, time);
    }

    protected Lua State => _lua;

    /// <summary>Runs <paramref name="code"/>; fails the test if it raises.</summary>
    protected void Run(string code)
    {
        var error = TryRun(code);
        if (error is not null) Assert.Fail(error);
    }

    /// <summary>Runs <paramref name="code"/> and returns its first result converted with tostring.</summary>
    protected string? Eval(string code)
    {
        int top = _lua.GetTop();
        PushTraceback();
        if (_lua.LoadString(code, "=test") != LuaStatus.OK) Assert.Fail(_lua.ToString(-1));
        if (_lua.PCall(0, 1, top + 1) != LuaStatus.OK) Assert.Fail(_lua.ToString(-1));
        string? result = _lua.IsNil(-1) ? null : _lua.ToString(-1, true);
        _lua.SetTop(top);
        return result;
    }

    /// <summary>Runs <paramref name="code"/> and returns the error message, or null when it succeeded.</summary>
    protected string? TryRun(string code)
    {
        int top = _lua.GetTop();
        PushTraceback();
        string? error = null;
        if (_lua.LoadString(code, "=test") != LuaStatus.OK || _lua.PCall(0, 0, top + 1) != LuaStatus.OK)
        {
            error = _lua.ToString(-1);
        }
        _lua.SetTop(top);
        return error;
    }

    private void PushTraceback()
    {
        _lua.GetGlobal("debug");
        _lua.GetField(-1, "traceback");
        _lua.Remove(-2);
    }

    public void Dispose()
    {
        _lua.Dispose();
        GC.SuppressFinalize(this);
    }
}
