using BenchmarkDotNet.Attributes;
using KeraLua;
using LuaXmpp.LuaBridge.Interop;

namespace LuaXmpp.Bench.Bridge;

/// <summary>
/// What the checked stack scope costs over the hand-written save/restore it replaced, on the
/// smallest C# → Lua call (an empty Lua function): docs/BRIDGE.md, "The stack boundary".
/// </summary>
[MemoryDiagnoser]
public class LuaStackBenchmarks
{
    private Lua _lua = null!;
    private int _function;

    [GlobalSetup]
    public void Setup()
    {
        _lua = new Lua(openLibs: true);
        _lua.DoString("return function() end");
        _function = _lua.Ref(LuaRegistry.Index);
    }

    [GlobalCleanup]
    public void Cleanup() => _lua.Dispose();

    [Benchmark(Baseline = true)]
    public LuaStatus HandWritten()
    {
        var lua = _lua;
        int top = lua.GetTop();
        lua.EnsureStack(48);
        try
        {
            lua.PushRef(_function);
            return lua.PCall(0, 0, 0);
        }
        finally
        {
            lua.SetTop(top);
        }
    }

    [Benchmark]
    public LuaStatus Scope()
    {
        using var scope = LuaStack.Enter(_lua);
        scope.Lua.PushRef(_function);
        return scope.PCall(0, 0);
    }
}
