namespace LuaXmpp.Tests.Libraries;

public sealed class RuntimeLibrariesTests : LuaTestState
{
    [Fact]
    public void Events_RunByPriorityAndStopOnNonNil()
    {
        Run("""
            local events = require "util.events".new()
            local calls = {}
            events.add_handler("e", function() calls[#calls + 1] = "low" end, -1)
            events.add_handler("e", function() calls[#calls + 1] = "high" end, 10)
            events.add_handler("e", function() calls[#calls + 1] = "mid1" end)
            events.add_handler("e", function() calls[#calls + 1] = "mid2" end)
            assert(events.fire_event("e", {}) == nil)
            assert(table.concat(calls, ",") == "high,mid1,mid2,low", table.concat(calls, ","))
            calls = {}
            local stopper = function() calls[#calls + 1] = "stop"; return false end
            events.add_handler("e", stopper, 5)
            assert(events.fire_event("e", {}) == false)
            assert(table.concat(calls, ",") == "high,stop")
            events.remove_handler("e", stopper)
            assert(#events._handlers["e"] == 4)
            assert(events._handlers["nothing"] == nil)
            """);
    }

    [Fact]
    public void Events_WrappersRunAroundHandlers()
    {
        Run("""
            local events = require "util.events".new()
            local trace = {}
            events.add_handler("e", function(data) trace[#trace + 1] = "handler:" .. data.v; return "r" end)
            events.add_wrapper(false, function(fire, name, data) trace[#trace + 1] = "global"; return fire(name, data) end)
            events.add_wrapper("e", function(fire, name, data) trace[#trace + 1] = "event"; data.v = 1; return fire(name, data) end)
            assert(events.fire_event("e", { v = 0 }) == "r")
            assert(table.concat(trace, ",") == "event,global,handler:1", table.concat(trace, ","))
            local batch = { a = function() return 1 end, b = function() return 2 end }
            events.add_handlers(batch)
            assert(events.fire_event("b") == 2)
            events.remove_handlers(batch)
            assert(events.fire_event("b") == nil)
            """);
    }

    [Fact]
    public void Cache_EvictsLeastRecentlySet()
    {
        Run("""
            local cache = require "util.cache"
            local evicted = {}
            local c = cache.new(2, function(k, v) evicted[#evicted + 1] = k end)
            c:set("a", 1); c:set("b", 2); c:set("a", 10); c:set("c", 3)
            assert(c:get("b") == nil and c:get("a") == 10 and c:get("c") == 3)
            assert(evicted[1] == "b" and c:count() == 2)
            assert(c:head() == "c" and c:tail() == "a")
            c:set("c", nil)
            assert(c:count() == 1)
            local t = c:table()
            t.x = 5
            local n = 0; for k, v in pairs(t) do n = n + 1 end
            assert(t.x == 5 and n == 2 and #t == 2)
            local strict = cache.new(1, false)
            assert(strict:set("a", 1) and not strict:set("b", 2) and strict:get("a") == 1)
            assert(c:resize(1) and c:count() == 1)
            assert(not pcall(cache.new, 0))
            """);
    }

    [Fact]
    public void Queue_IsFifoAndWrapsWhenAllowed()
    {
        Run("""
            local queue = require "util.queue"
            local q = queue.new(2)
            assert(q:push("a") and q:push("b"))
            local ok, err = q:push("c")
            assert(ok == nil and err == "queue full")
            assert(q:peek() == "a" and q:pop() == "a" and q:count() == 1)
            q:push("c")
            local seen = {}
            for i, v in q:items() do seen[i] = v end
            assert(seen[1] == "b" and seen[2] == "c")
            local w = queue.new(2, true)
            w:push(1); w:push(2); w:push(3)
            assert(w:pop() == 2 and w:pop() == 3 and w:pop() == nil)
            local drained = 0
            q:replace("B")
            for item in q:consume() do drained = drained + 1 end
            assert(drained == 2 and q:count() == 0)
            """);
    }

    [Fact]
    public void Smqueue_TracksAcksAndResumability()
    {
        Run("""
            local smqueue = require "util.smqueue"
            local q = smqueue.new(3)
            for i = 1, 3 do q:push("s" .. i) end
            assert(q:count_unacked() == 3 and #q == 3)
            local acked = q:ack(2)
            assert(#acked == 2 and acked[1] == "s1" and q:count_acked() == 2)
            assert(select(2, q:ack(1)) == "tail" and select(2, q:ack(9)) == "head")
            assert(q:resumable())
            q:push("s4"); q:push("s5"); q:push("s6"); q:push("s7")
            assert(not q:resumable(), "overflow loses unacked stanzas")
            local t = q:table()
            assert(t[1] == "s5" and #t == 3)
            """);
    }

    [Fact]
    public void Async_RunnerWaitsForWaiterAndKeepsOrder()
    {
        Run("""
            local async = require "util.async"
            local log, resume = {}, nil
            local states = {}
            local r = async.runner(function(item)
              log[#log + 1] = "start " .. item
              if item == "slow" then
                local wait, done = async.waiter()
                resume = done
                wait()
              end
              log[#log + 1] = "end " .. item
            end, {
              waiting = function() states[#states + 1] = "waiting" end,
              ready = function() states[#states + 1] = "ready" end,
              error = function(_, err) states[#states + 1] = "error" end,
            })
            r:run("slow")
            r:run("next")
            assert(r.state == "waiting" and #r.queue == 1)
            assert(table.concat(log, ",") == "start slow", table.concat(log, ","))
            resume()
            assert(table.concat(log, ",") == "start slow,end slow,start next,end next", table.concat(log, ","))
            assert(r.state == "ready")
            assert(table.concat(states, ",") == "waiting,ready", table.concat(states, ","))
            assert(not async.ready())
            local ok_inside
            async.once(function() ok_inside = async.ready() end)
            assert(ok_inside == true)
            """);
    }

    [Fact]
    public void Async_ErrorWatcherSeesErrorsAndRunnerContinues()
    {
        Run("""
            local async = require "util.async"
            local errors, done = {}, {}
            local r = async.runner(function(item)
              if item == "bad" then error("boom") end
              done[#done + 1] = item
            end, { error = function(_, err) errors[#errors + 1] = err end })
            r:run("bad")
            r:run("good")
            assert(#errors == 1 and errors[1]:find("boom", 1, true))
            assert(done[1] == "good")
            local p = require "util.promise"
            local got
            async.once(function() got = async.wait_for(p.resolve("v")) end)
            assert(got == "v")
            """);
    }

    [Fact]
    public void Promise_ChainsValuesAndRejections()
    {
        Run("""
            local promise = require "util.promise"
            local out = {}
            promise.resolve(1):next(function(v) return v + 1 end):next(function(v) out.v = v end)
            promise.reject("no"):catch(function(e) out.e = e end)
            local res
            local pending = promise.new(function(resolve) res = resolve end)
            promise.all({ pending, promise.resolve("b") }):next(function(all) out.all = all end)
            assert(out.all == nil)
            res("a")
            assert(out.v == 2 and out.e == "no" and out.all[1] == "a" and out.all[2] == "b")
            local finally_ran
            promise.reject("x"):finally(function() finally_ran = true end):catch(function() end)
            assert(finally_ran)
            """);
    }

    [Fact]
    public void Timer_ManualBackendRunsAndReschedules()
    {
        Run("""
            local timer = require "util.timer"
            local now = require "util.time".now()
            local runs = 0
            local id = timer.add_task(10, function(t, task_id, param)
              runs = runs + 1
              assert(param == "p")
              if runs < 2 then return 5 end
            end, "p")
            assert(timer._run_due(now + 1) == 0)
            assert(timer._run_due(now + 11) == 1 and runs == 1)
            assert(timer._run_due(now + 17) == 1 and runs == 2)
            assert(timer._run_due(now + 100) == 0)
            local stopped = timer.add_task(1, function() error("must not run") end)
            assert(timer.stop(stopped) == nil)
            assert(timer._run_due(now + 100) == 0)
            """);
    }

    [Fact]
    public void Timer_UsesNativeBackendWhenPresent()
    {
        Run("""
            local scheduled = {}
            _luaxmpp_timer = {
              schedule = function(delay, fn) scheduled[#scheduled + 1] = { delay, fn }; return #scheduled end,
              cancel = function(handle) scheduled[handle] = false end,
            }
            local timer = require "util.timer"
            local fired = 0
            local id = timer.add_task(3, function() fired = fired + 1; return 7 end)
            assert(scheduled[1][1] == 3)
            scheduled[1][2]()
            assert(fired == 1 and scheduled[2][1] == 7)
            timer.stop(id)
            assert(scheduled[2] == false)
            _luaxmpp_timer = nil
            """);
    }

    [Fact]
    public void Logger_UsesNativeLogFunction()
    {
        Run("""
            local got = {}
            _luaxmpp_log = function(level, source, message) got = { level, source, message } end
            local log = require "util.logger".init("host:mod")
            log("info", "Hello %s, %d", "world", 1.5)
            assert(got[1] == "info" and got[2] == "host:mod" and got[3] == "Hello world, [1.5]", got[3])
            log("bogus", "ignored")
            assert(got[1] == "info")
            _luaxmpp_log = nil
            """);
    }

    [Fact]
    public void ErrorAndIds_CreateAndWrapErrors()
    {
        Run("""
            local errors = require "util.error"
            local e = errors.new({ type = "auth", condition = "forbidden", text = "no" })
            assert(errors.is_err(e) and tostring(e) == "error<auth:forbidden:no>")
            local reg = errors.init("mod_x", "urn:x", { bad = { "modify", "bad-request", "Bad", "app-cond" } })
            local b = reg.new("bad")
            assert(b.condition == "bad-request" and b.extra.namespace == "urn:x" and b.extra.condition == "app-cond")
            local ok, wrapped = errors.coerce(nil, "oops")
            assert(ok == nil and wrapped.context.wrapped_error == "oops" and wrapped.condition == "undefined-condition")
            local st = require "util.stanza"
            local reply = st.error_reply(st.iq({ id = "1", type = "get", from = "a@b", to = "c" }), "cancel", "gone", "moved")
            local fs = errors.from_stanza(reply)
            assert(fs.condition == "gone" and fs.text == "moved" and fs.context.by == "c")
            local id = require "util.id"
            assert(#id.short() == 12 and #id.medium() == 24 and #id.long() == 36 and #id.tiny() == 4)
            assert(not id.short():find("[+/=]"))
            local uuid = require "util.uuid".generate()
            assert(uuid:match("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"), uuid)
            """);
    }
}
