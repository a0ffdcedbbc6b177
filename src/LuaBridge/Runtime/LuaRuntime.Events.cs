using KeraLua;
using LuaXmpp.Events;
using LuaXmpp.LuaBridge.Interop;
using LuaXmpp.Routing;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.LuaBridge.Runtime;

// The events bridge: Lua handlers on C# buses, C# handlers in chains Lua walks, and the event
// table that both sides share for one dispatch.
public sealed partial class LuaRuntime
{
    private readonly Dictionary<long, LuaHandler> _handlers = new();
    private readonly Dictionary<long, EventHandlerEntry> _nativeEntries = new();
    private readonly Dictionary<EventHandlerEntry, long> _nativeIds = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<EventBus, Action<string>> _watchedBuses = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<long, ModuleOwner> _owners = new();
    private readonly List<EventRef> _liveEvents = new();
    private long _nextHandlerId;
    private long _chainVersion;

    private EventBus RequireBus(Lua lua, int index)
    {
        var name = lua.OptString(index) ?? throw new ArgumentException("bus name expected");
        var bus = name == "*" ? _server.GlobalEvents : _server.FindHost(name)?.Events
            ?? throw new ArgumentException("unknown host " + name);
        Watch(bus);
        return bus;
    }

    /// <summary>Lua caches chains; any change on a watched bus invalidates that cache.</summary>
    private void Watch(EventBus bus)
    {
        if (_watchedBuses.ContainsKey(bus)) return;
        Action<string> watcher = name => OnChainChanged(bus, name);
        _watchedBuses[bus] = watcher;
        bus.ChainChanged += watcher;
        bus.Dispatcher = this;
    }

    private void OnChainChanged(EventBus bus, string name)
    {
        _chainVersion++;
        if (_chainState != LuaRef.NoRef && !_disposed)
        {
            // Lua's chain cache checks this field (a raw set: nothing can raise here).
            var lua = State;
            lua.PushRef(_chainState);
            lua.PushInteger(_chainVersion);
            lua.RawSetField(-2, "version");
            lua.Pop(1);
        }
        // Forget ids of C# entries no longer in that chain.
        var current = bus.Handlers(name);
        foreach (var (entry, id) in _nativeIds.ToArray())
        {
            if (entry.Name != name || !_nativeEntries.ContainsKey(id)) continue;
            bool present = false;
            foreach (var e in current) present |= ReferenceEquals(e, entry);
            if (!present && BusOf(id) == bus)
            {
                _nativeIds.Remove(entry);
                _nativeEntries.Remove(id);
                _nativeBuses.Remove(id);
            }
        }
    }

    private readonly Dictionary<long, EventBus> _nativeBuses = new();

    private EventBus? BusOf(long nativeId) => _nativeBuses.GetValueOrDefault(nativeId);

    // hook(bus, name, fn, priority, owner?) → id
    private int Hook(Lua lua)
    {
        var bus = RequireBus(lua, 1);
        var name = lua.OptString(2) ?? throw new ArgumentException("event name expected");
        if (lua.Type(3) != LuaType.Function) throw new ArgumentException("handler must be a function");
        double priority = lua.Type(4) == LuaType.Number ? lua.ToNumber(4) : 0;
        var owner = lua.IsInteger(5) ? _owners.GetValueOrDefault(lua.ToInteger(5)) : null;
        lua.PushCopy(3);
        var function = new LuaRef(lua.PopRef());
        var handler = new LuaHandler(this, ++_nextHandlerId, bus, name, function, owner);
        _handlers[handler.Id] = handler;
        handler.Subscription = bus.Hook(name, handler.Callback, priority, owner);
        lua.PushInteger(handler.Id);
        return 1;
    }

    private int Unhook(Lua lua)
    {
        if (_handlers.Remove(lua.ToInteger(1), out var handler))
        {
            handler.Subscription?.Dispose();
            lua.Release(handler.Function);
        }
        return 0;
    }

    // chain(bus, name) → list of Lua functions and numbers (C# entries), or nil
    private int Chain(Lua lua)
    {
        var bus = RequireBus(lua, 1);
        var chain = bus.Handlers(lua.OptString(2) ?? "");
        if (chain.Count == 0)
        {
            lua.PushNil();
            return 1;
        }
        lua.CreateTable(chain.Count, 0);
        long i = 0;
        foreach (var entry in chain)
        {
            if (entry.Callback.Target is LuaHandler handler) lua.PushRef(handler.Function);
            else lua.PushInteger(NativeId(bus, entry));
            lua.RawSetInteger(-2, ++i);
        }
        return 1;
    }

    private long NativeId(EventBus bus, EventHandlerEntry entry)
    {
        if (_nativeIds.TryGetValue(entry, out var id)) return id;
        id = ++_nextHandlerId;
        _nativeIds[entry] = id;
        _nativeEntries[id] = entry;
        _nativeBuses[id] = bus;
        return id;
    }

    // fire_native(bus, id, event) → result: runs one C# handler for a chain Lua is walking.
    private int FireNative(Lua lua)
    {
        if (!_nativeEntries.TryGetValue(lua.ToInteger(2), out var entry))
        {
            lua.PushNil(); // unhooked since the chain was read
            return 1;
        }
        if (lua.Type(3) != LuaType.Table) throw new ArgumentException("event table expected");
        if (DispatchedEvent(lua, 3) is { } original)
        {
            // An event bridge.dispatch made gets its reference on the first C# handler it meets.
            if (original.LuaTable is not EventRef { IsReleased: false }) KeepEvent(lua, 3, original);
            // fire_native(bus, id, event, lua_ran): a C#-fired event; its own EventData goes on.
            return PushHandlerResult(lua, FireNativeWithOriginal(lua, entry, original, lua.Type(4) == LuaType.None || lua.ToBoolean(4)));
        }
        var e = EventFromTable(lua, 3);
        var before = e.Stanza;
        var sizes = ElementFieldSizes(e);
        var result = entry.Callback(e);
        lua.PushCopy(3);
        PushScalarFields(lua, e);
        lua.Pop(1);
        AppendAddedChildren(lua, 3, e, sizes);
        if (!ReferenceEquals(before, e.Stanza))
        {
            // A C# handler handed a new stanza on: later Lua handlers must see it.
            PushValue(lua, e.Stanza);
            lua.RawSetField(3, "stanza");
            if (e.LuaTable is EventRef r) r.Stanza = e.Stanza;
        }
        return PushHandlerResult(lua, result);
    }

    /// <summary>How many child elements each element field (stream features) of the event had before a C# handler ran.</summary>
    private static Dictionary<string, int>? ElementFieldSizes(EventData e)
    {
        Dictionary<string, int>? sizes = null;
        foreach (var (key, value) in e.Fields)
        {
            if (value is XmlElement element) (sizes ??= new Dictionary<string, int>(StringComparer.Ordinal))[key] = element.Elements().Count();
        }
        return sizes;
    }

    /// <summary>
    /// Children a C# handler appended to an element field of a Lua-fired event (the native
    /// modules' stream features: roster versioning, caps, pre-approval) are appended to the Lua
    /// stanza in place, since the Lua side holds that table (mod_sasl2 sends the features it fired).
    /// </summary>
    private void AppendAddedChildren(Lua lua, int table, EventData e, Dictionary<string, int>? sizes)
    {
        if (sizes is null) return;
        foreach (var (key, count) in sizes)
        {
            if (e.Fields.GetValueOrDefault(key) is not XmlElement element) continue;
            var added = element.Elements().Skip(count).ToList();
            if (added.Count == 0) continue;
            lua.EnsureStack(8);
            lua.GetField(table, key);
            foreach (var child in added)
            {
                using var scope = LuaStack.Enter(lua, 8);
                lua.GetField(-1, "add_direct_child");
                lua.PushCopy(-2);
                _stanzas.Push(lua, child);
                if (scope.PCall(2, 0) != LuaStatus.OK)
                    _log.Warn($"Could not add <{child.Name}/> to the event's {key}: {lua.ToString(-1, false)}");
            }
            lua.Pop(1);
        }
    }

    /// <summary>
    /// A C# handler's result for a Lua-walked chain: a handler that returned an unfinished Task
    /// waits, so Lua gets PENDING and an id (bridge.await_handled suspends the walk's runner).
    /// </summary>
    private int PushHandlerResult(Lua lua, object? result)
    {
        if (result is Task<object?> task)
        {
            return PushWhenDone(lua, task, l =>
            {
                PushResult(l, Pending.ResultOf(task));
                return 1;
            });
        }
        PushResult(lua, result);
        return 1;
    }

    private void PushResult(Lua lua, object? result)
    {
        switch (result)
        {
            case null: lua.PushNil(); break;
            case bool or string or int or long or double or XmlElement: PushValue(lua, result); break;
            default: lua.PushBoolean(true); break;
        }
    }

    /// <summary>An <see cref="EventData"/> over a Lua event table (for C# handlers in a Lua-fired chain).</summary>
    private EventData EventFromTable(Lua lua, int index)
    {
        index = lua.AbsIndex(index);
        var e = new EventData();
        lua.PushNil();
        while (lua.Next(index))
        {
            if (lua.OptString(-2) is { } key)
            {
                if (key == "origin") e.Origin = SessionOf(lua, -1);
                else if (key == "stanza") e.Stanza = _stanzas.IsStanza(lua, -1) ? _stanzas.Read(lua, -1) : null;
                else e.Fields[key] = ReadScalar(lua, -1);
            }
            lua.Pop(1);
        }
        KeepEvent(lua, index, e);
        return e;
    }

    /// <summary>A slot in live_events for <paramref name="e"/>'s table, which Lua or the caller stores there.</summary>
    private EventRef TrackEvent(EventData e, bool postRelease = true)
    {
        if (postRelease) PostRelease();
        var r = new EventRef(_liveEvents.Count + 1, e.Stanza);
        _liveEvents.Add(r);
        e.LuaTable = r;
        return r;
    }

    /// <summary>
    /// Lets go of an event whose table Lua took back (its slot is empty): the slot is given out
    /// again when it is the last one, as it is unless a nested dispatch tracked another since.
    /// </summary>
    private void ForgetEvent(EventRef r)
    {
        if (r.Slot == _liveEvents.Count && ReferenceEquals(_liveEvents[^1], r)) _liveEvents.RemoveAt(_liveEvents.Count - 1);
        r.Release();
    }

    /// <summary>Keeps the event table at <paramref name="index"/> for the rest of the work item (TrackEvent).</summary>
    private EventRef KeepEvent(Lua lua, int index, EventData e)
    {
        index = lua.AbsIndex(index);
        var r = TrackEvent(e);
        PushLiveEvents(lua);
        lua.PushCopy(index);
        lua.RawSetInteger(-2, r.Slot);
        lua.Pop(1);
        return r;
    }

    /// <summary>Pushes the table of a live event.</summary>
    private void PushEventTable(Lua lua, EventRef r)
    {
        PushLiveEvents(lua);
        HotApi.lua_rawgeti(lua.Handle, -1, r.Slot);
        lua.Remove(-2);
    }

    private int _liveEventsRef = LuaRef.NoRef;

    /// <summary>bridge.lua's live_events (chain_state.live_events): slot → event table.</summary>
    private void PushLiveEvents(Lua lua)
    {
        if (_liveEventsRef == LuaRef.NoRef)
        {
            lua.PushRef(_chainState);
            lua.RawGetField(-1, "live_events");
            _liveEventsRef = lua.PopRef();
            lua.Pop(1);
        }
        HotApi.lua_rawgeti(lua.Handle, (int)LuaRegistry.Index, _liveEventsRef);
    }

    /// <summary>
    /// Event tables live until the loop finishes the work item that made them: a chain never
    /// spans work items (EventBus.Fire is synchronous), so later handlers of the same dispatch
    /// all see one table. An EventData fired again later gets a fresh table. Internal for the
    /// bridge benchmarks, which end a work item after each fire as the loop does.
    /// </summary>
    internal void ReleaseEvents()
    {
        _releasePosted = false;
        // Posted work can run after Dispose closed the state: touching it then would be a use after free.
        if (_disposed)
        {
            _liveEvents.Clear();
            return;
        }
        if (_liveEvents.Count > 0)
        {
            var L = _main.Handle;
            PushLiveEvents(_main);
            for (int slot = 1; slot <= _liveEvents.Count; slot++)
            {
                _liveEvents[slot - 1].Release();
                HotApi.lua_pushnil(L);
                HotApi.lua_rawseti(L, -2, slot);
            }
            _main.Pop(1);
            _liveEvents.Clear();
        }
        SweepLazyStanzas();
        DropSnapshots();
    }

    /// <summary>
    /// The event tables' snapshots go with them (bridge.lua, chain_state.snapshots): a fresh table
    /// only when one was left (a chain with a C# handler in the middle, a walk that waited), so a
    /// work item that took none allocates nothing in Lua here.
    /// </summary>
    private void DropSnapshots()
    {
        if (_chainState == LuaRef.NoRef) return;
        if (_snapshotsRef == LuaRef.NoRef)
        {
            _main.PushRef(_chainState);
            _main.RawGetField(-1, "snapshots");
            _snapshotsRef = _main.PopRef();
            _main.Pop(1);
        }
        HotApi.lua_rawgeti(_main.Handle, (int)LuaRegistry.Index, _snapshotsRef);
        _main.PushNil();
        if (!_main.Next(-2))
        {
            _main.Pop(1);
            return;
        }
        _main.Pop(3);
        _main.Unref(LuaRegistry.Index, _snapshotsRef);
        _main.PushRef(_chainState);
        _main.NewTable();
        _main.PushCopy(-1);
        _snapshotsRef = _main.PopRef();
        _main.RawSetField(-2, "snapshots");
        _main.Pop(1);
    }

    /// <summary>Makes sure the end of this work item releases its events (one cached delegate, once).</summary>
    private void PostRelease()
    {
        if (_releasePosted) return;
        _releasePosted = true;
        _server.Loop.Post(_releaseEvents ??= ReleaseEvents);
    }

    // ReleaseEvents is posted once per work item that tracked an event, as one cached delegate.
    private bool _releasePosted;
    private Action? _releaseEvents;
    private int _snapshotsRef = LuaRef.NoRef;

    /// <summary>Pushes the event's Lua table, building it the first time a Lua handler sees the event.</summary>
    private EventRef PushEvent(Lua lua, EventData e)
    {
        if (e.LuaTable is EventRef { IsReleased: false } existing)
        {
            PushEventTable(lua, existing);
            PushScalarFields(lua, e);
            if (!ReferenceEquals(existing.Stanza, e.Stanza))
            {
                PushValue(lua, e.Stanza);
                lua.RawSetField(-2, "stanza");
                existing.Stanza = e.Stanza;
            }
            return existing;
        }
        lua.CreateTable(0, 2 + (e.HasFields ? e.Fields.Count : 0));
        if (e.Origin is { } origin)
        {
            PushSession(lua, origin);
            lua.RawSetField(-2, "origin");
        }
        if (e.Stanza is { } stanza)
        {
            // Converted only if a Lua handler touches it (issue 11).
            _stanzas.PushLazy(lua, stanza);
            lua.RawSetField(-2, "stanza");
        }
        if (e.HasFields)
        {
            foreach (var (key, value) in e.Fields)
            {
                PushValue(lua, value);
                lua.RawSetField(-2, key);
            }
        }
        return KeepEvent(lua, -1, e);
    }

    /// <summary>C# handlers earlier in the chain may have changed scalar fields; the table must show them.</summary>
    private void PushScalarFields(Lua lua, EventData e)
    {
        if (!e.HasFields) return;
        foreach (var (key, value) in e.Fields)
        {
            if (value is not (string or bool or int or long or double)) continue;
            PushValue(lua, value);
            lua.RawSetField(-2, key);
        }
    }

    /// <summary>Copies what a Lua handler changed (stanza, scalar fields) back into the EventData.</summary>
    private void SyncBack(Lua lua, int table, EventData e, EventRef r)
    {
        lua.RawGetField(table, "stanza");
        if (_stanzas.IsStanza(lua, -1))
        {
            if (e.Stanza is null) e.Stanza = _stanzas.Read(lua, -1);
            else _stanzas.ReadInto(lua, -1, e.Stanza);
        }
        else if (lua.IsNil(-1)) e.Stanza = null;
        r.Stanza = e.Stanza;
        lua.Pop(1);

        lua.PushNil();
        while (lua.Next(table))
        {
            if (lua.OptString(-2) is { } key && key is not ("origin" or "stanza"))
            {
                switch (lua.Type(-1))
                {
                    case LuaType.Boolean or LuaType.Number or LuaType.String:
                        e.Fields[key] = ReadScalar(lua, -1);
                        break;
                    case LuaType.Table when e.Fields.GetValueOrDefault(key) is XmlElement element && _stanzas.IsStanza(lua, -1):
                        _stanzas.ReadInto(lua, -1, element);
                        break;
                    case LuaType.Table when e.Fields.GetValueOrDefault(key) is StanzaBuilder builder && _stanzas.IsStanza(lua, -1):
                        _stanzas.ReadInto(lua, -1, builder.Root);
                        break;
                    case LuaType.Table:
                        e.Fields[key] = ReadTableField(lua, -1);
                        break;
                }
            }
            lua.Pop(1);
        }
    }

    /// <summary>
    /// A table a Lua handler put on the event, as C# reads it: a stanza, a session, or plain data
    /// (<see cref="Storage.DataTable"/>, e.g. pre-resource-bind's error = {type, condition, text});
    /// null for what cannot be copied (functions, cycles). The Lua table itself stays in the event.
    /// </summary>
    private object? ReadTableField(Lua lua, int index)
    {
        if (_stanzas.IsStanza(lua, index)) return _stanzas.Read(lua, index);
        if (SessionOf(lua, index) is { } session) return session;
        using var scope = LuaStack.Enter(lua);
        try
        {
            return ReadData(lua, index);
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// The C# callback of a Lua handler: calls it under xpcall, maps its return (nil → null,
    /// anything else, false included, → non-null) and copies changes back. An error is logged
    /// with the module and traceback; an iq get/set gets internal-server-error; the event counts
    /// as handled.
    /// </summary>
    internal object? InvokeHandler(LuaHandler handler, EventData e)
    {
        AssertLoop();
        if (_disposed || handler.Function.IsReleased) return null;
        var lua = State;
        var scope = LuaStack.Enter(lua);
        int top = scope.Top;
        try
        {
            lua.PushRef(_callHandler);
            lua.PushRef(handler.Function);
            var r = PushEvent(lua, e);
            int table = lua.GetTop();
            lua.PushCopy(table);
            lua.Insert(top + 1); // keep the event table below the call
            if (scope.PCall(2, 2) != LuaStatus.OK) return HandlerFailed(handler, e, lua.ToString(-1, false));
            bool ok = lua.ToBoolean(-2);
            if (!ok) return HandlerFailed(handler, e, lua.RawString(-1) ?? "error object is not a string");
            object? result = lua.Type(-1) switch
            {
                LuaType.Nil or LuaType.None => null,
                LuaType.Boolean => lua.ToBoolean(-1),
                LuaType.String => lua.ToString(-1, false),
                LuaType.Number => lua.IsInteger(-1) ? (object)lua.ToInteger(-1) : lua.ToNumber(-1),
                _ => true,
            };
            SyncBack(lua, top + 1, e, r);
            return result;
        }
        catch (Exception ex)
        {
            return HandlerFailed(handler, e, ex.ToString());
        }
        finally
        {
            scope.Dispose();
        }
    }

    private object HandlerFailed(LuaHandler handler, EventData e, string error)
    {
        var source = handler.Owner?.LogName ?? "luaxmpp";
        LoggerFor(source).Error($"Error in handler for event '{handler.EventName}': {error}");
        // As Prosody's stanza runner does: an iq that expected an answer gets one.
        if (e.Stanza is { Name: "iq" } iq && iq.GetAttribute("type") is "get" or "set" && e.Origin is { } origin)
        {
            origin.Send(StanzaReply.Error(iq, StanzaError.InternalServerError()));
        }
        return true;
    }

    // module_owner(api, host, name) → id
    private int ModuleOwnerNative(Lua lua)
    {
        lua.PushCopy(1);
        var owner = new ModuleOwner(++_nextHandlerId, lua.OptString(2) ?? "*", lua.OptString(3) ?? "?", new LuaRef(lua.PopRef()));
        _owners[owner.Id] = owner;
        lua.PushInteger(owner.Id);
        return 1;
    }

    // module_released(owner): unload safety net — whatever the module still has hooked or added goes.
    private int ModuleReleased(Lua lua)
    {
        if (!_owners.Remove(lua.ToInteger(1), out var owner)) return 0;
        foreach (var handler in _handlers.Values.Where(h => h.Owner == owner).ToArray())
        {
            _handlers.Remove(handler.Id);
            handler.Subscription?.Dispose();
            lua.Release(handler.Function);
        }
        foreach (var bus in _watchedBuses.Keys) bus.UnhookOwner(owner);
        _server.FindHost(owner.Host)?.Items.RemoveAllFrom(owner);
        lua.Release(owner.Api);
        return 0;
    }
}
