using KeraLua;
using LuaXmpp.Logging;
using LuaXmpp.LuaBridge.Interop;
using LuaXmpp.LuaBridge.Libraries;
using LuaXmpp.Tests.Runtime;

namespace LuaXmpp.Tests.Interop;

/// <summary>
/// The stack wrapper: a C# → Lua entry that leaves the stack unbalanced is found, named and
/// repaired (Release) or stopped (Debug); a Lua error inside a call leaves the stack as it was;
/// a native that throws gives Lua an error, not a crash.
/// </summary>
public sealed class LuaStackTests : IDisposable
{
    private readonly Lua _lua = new(openLibs: true);

    public LuaStackTests() => TestLog.EnsureConfigured();

    public void Dispose() => _lua.Dispose();

    [Fact]
    public void Scope_ThatPopsBelowItsEntry_IsReportedWithItsSiteAndTheTopRestored()
    {
        PushCallerValues();
#if DEBUG
        var ex = Assert.Throws<InvalidOperationException>(PopOneTooMany);
        Assert.Contains(nameof(PopOneTooMany), ex.Message);
#else
        PopOneTooMany();
        Assert.Contains(ErrorLines(), m => m.Contains(nameof(PopOneTooMany)) && m.Contains("LuaStackTests.cs") && m.Contains("top restored"));
#endif
        Assert.Equal(2, _lua.GetTop());
    }

    [Fact]
    public void Scope_CallThatWouldConsumeTheCallersValues_IsRefused()
    {
        _lua.DoString("called = false");
        _lua.GetGlobal("print");
        _lua.DoString("return function() called = true end");
        LuaStatus status = LuaStatus.OK;
#if DEBUG
        Assert.Throws<InvalidOperationException>(() => status = CallWithOneArgumentTooMany());
#else
        status = CallWithOneArgumentTooMany();
        Assert.Equal(LuaStatus.ErrRun, status);
        Assert.Contains(ErrorLines(), m => m.Contains(nameof(CallWithOneArgumentTooMany)) && m.Contains("call with 1 arguments"));
#endif
        Assert.Equal(2, _lua.GetTop());
        _lua.GetGlobal("called");
        Assert.False(_lua.ToBoolean(-1));
    }

    [Fact]
    public void Scope_LuaErrorInsideTheCall_LeavesTheStackBalanced()
    {
        PushCallerValues();
        long before = LuaStack.Imbalances;
        string? message;
        using (var scope = LuaStack.Enter(_lua))
        {
            _lua.DoString("return function(x) error('failed with ' .. x) end");
            _lua.PushString("an argument");
            Assert.Equal(LuaStatus.ErrRun, scope.PCall(1, 2));
            message = _lua.ToString(-1, false);
        }
        Assert.Contains("failed with an argument", message);
        Assert.Equal(2, _lua.GetTop());
        Assert.Equal("caller", _lua.ToString(2, false));
        Assert.Equal(before, LuaStack.Imbalances);
    }

    [Fact]
    public void Scope_Keep_LeavesTheDeclaredValuesForTheCaller()
    {
        PushCallerValues();
        using (var scope = LuaStack.Enter(_lua))
        {
            _lua.DoString("return function() return 'result', 'extra' end");
            Assert.Equal(LuaStatus.OK, scope.PCall(0, 2));
            _lua.Pop(1);
            scope.Keep(1);
        }
        Assert.Equal(3, _lua.GetTop());
        Assert.Equal("result", _lua.ToString(-1, false));
    }

    [Fact]
    public void Scope_KeepingMoreThanItPushed_IsReported()
    {
        PushCallerValues();
#if DEBUG
        Assert.Throws<InvalidOperationException>(KeepTwoPushOne);
#else
        KeepTwoPushOne();
        Assert.Contains(ErrorLines(), m => m.Contains(nameof(KeepTwoPushOne)) && m.Contains("2 values to keep"));
#endif
        Assert.Equal(4, _lua.GetTop());
    }

    [Fact]
    public void Scope_Resume_PassesTheArgumentsAndBringsBackTheYieldedValues()
    {
        PushCallerValues();
        _lua.DoString("""
            co = coroutine.create(function()
              local a, b = coroutine.yield("ready")
              while true do a, b = coroutine.yield("sum", a + b, a * b) end
            end)
            assert(coroutine.resume(co))
            """);
        var thread = ThreadOf("co");
        using (var scope = LuaStack.Enter(_lua))
        {
            _lua.PushInteger(3);
            _lua.PushInteger(4);
            Assert.Equal(LuaStatus.Yield, scope.Resume(thread, 2, out int results));
            Assert.Equal(3, results);
            Assert.Equal("sum", _lua.ToString(-3, false));
            Assert.Equal(7, _lua.ToInteger(-2));
            Assert.Equal(12, _lua.ToInteger(-1));
            // The coroutine's stack is empty again: the next resume is accepted.
            scope.Reset();
            _lua.PushInteger(5);
            _lua.PushInteger(6);
            Assert.Equal(LuaStatus.Yield, scope.Resume(thread, 2, out results));
            Assert.Equal(11, _lua.ToInteger(-2));
        }
        Assert.Equal(2, _lua.GetTop());
        Assert.Equal("caller", _lua.ToString(2, false));
    }

    [Fact]
    public void Scope_ResumeOfACoroutineThatIsNotSuspended_IsRefused()
    {
        _lua.DoString("""
            resumed = 0
            co = coroutine.create(function() resumed = resumed + 1 end)
            assert(coroutine.resume(co))
            """);
        LuaStatus status = LuaStatus.OK;
#if DEBUG
        Assert.Throws<InvalidOperationException>(() => status = ResumeDead());
#else
        status = ResumeDead();
        Assert.Equal(LuaStatus.ErrRun, status);
        Assert.Contains(ErrorLines(), m => m.Contains(nameof(ResumeDead)) && m.Contains("resume with 1 arguments"));
#endif
        Assert.Equal(0, _lua.GetTop());
        _lua.GetGlobal("resumed");
        Assert.Equal(1, _lua.ToInteger(-1));
    }

    private LuaStatus ResumeDead()
    {
        var thread = ThreadOf("co");
        using var scope = LuaStack.Enter(_lua);
        _lua.PushInteger(1);
        return scope.Resume(thread, 1, out _);
    }

    private IntPtr ThreadOf(string global)
    {
        _lua.GetGlobal(global);
        var thread = _lua.ToThread(-1).Handle;
        _lua.Pop(1);
        return thread;
    }

    [Fact]
    public void Native_ThatThrows_GivesLuaAnError_AndTheStateGoesOn()
    {
        _lua.Register("boom", Boom);
        // The shims' convention: nil, message from the native, error() raised in Lua.
        var result = _lua.DoString("""
            local ok, err = pcall(function()
              local r, e = boom("x", "y")
              if r == nil then error(e, 0) end
            end)
            assert(not ok)
            return err
            """);
        Assert.False(result);
        Assert.Equal("InvalidOperationException: native failed", _lua.ToString(-1, false));
        _lua.SetTop(0);
        Assert.False(_lua.DoString("assert(1 + 1 == 2)"));
    }

    [Fact]
    public void RuntimeNative_ThatThrows_ReturnsNilAndMessage()
    {
        Lua? current = null;
        var natives = new NativeTable(() => current, l => current = l);
        natives.Add("explode", _ => throw new InvalidOperationException("exploded"));
        natives.Push(_lua);
        _lua.SetGlobal("N");
        Assert.False(_lua.DoString("local r, e = N.explode(1, 2, 3); assert(r == nil); return e"));
        Assert.Equal("explode: exploded", _lua.ToString(-1, false));
        Assert.Null(current);
        GC.KeepAlive(natives);
    }

#if !DEBUG
    // In a Debug build the same native fails an assertion, which ends the process.
    [Fact]
    public void Native_PromisingMoreResultsThanItPushed_ReturnsNilAndMessage()
    {
        Lua? current = null;
        var natives = new NativeTable(() => current, l => current = l);
        natives.Add("short", l =>
        {
            l.PushString("only one");
            return 3;
        });
        natives.Push(_lua);
        _lua.SetGlobal("N");
        Assert.False(_lua.DoString("local a, b, c = N.short(); assert(a == nil); return b"));
        Assert.Equal("short: stack imbalance in the native", _lua.ToString(-1, false));
        Assert.Contains(ErrorLines(), m => m.Contains("native short") && m.Contains("3 results promised"));
        GC.KeepAlive(natives);
    }
#endif

    private static readonly LuaFunction Boom = state => NativeBoundary.Invoke(state, lua =>
    {
        lua.PushString("pushed before the failure");
        throw new InvalidOperationException("native failed");
    });

    private void PushCallerValues()
    {
        _lua.PushString("below");
        _lua.PushString("caller");
    }

    private void PopOneTooMany()
    {
        using var scope = LuaStack.Enter(_lua);
        _lua.PushString("mine");
        _lua.Pop(2);
    }

    private LuaStatus CallWithOneArgumentTooMany()
    {
        using var scope = LuaStack.Enter(_lua);
        // The function sits below the entry: calling it would take "print" from the caller as
        // the function and the function as its argument.
        return scope.PCall(1, 0);
    }

    private void KeepTwoPushOne()
    {
        using var scope = LuaStack.Enter(_lua);
        _lua.PushString("one");
        scope.Keep(2);
    }

    private static IEnumerable<string> ErrorLines() =>
        TestLog.Sink.Entries.Where(e => e.Level == LogLevel.Error && e.Source == "luaxmpp.lua").Select(e => e.Message);
}
