using LuaXmpp.Events;

namespace LuaXmpp.Tests.Runtime;

/// <summary>
/// Our DBI (LuaDBI's API) from a module, on the SQLite3 driver: statements with parameters,
/// rows by position and by name, autocommit off until asked (commit and rollback), errors as
/// false and a message, and a runner that suspends while the database works.
/// </summary>
public sealed class DbiTests
{
    [Fact]
    public async Task Sqlite_StatementsRowsAndTransactions_AsLuaDbi_WhileTheRunnerSuspends()
    {
        await using var h = RuntimeHarness.Create();
        var file = Path.Combine(h.PluginDir, "dbi.sqlite");
        h.WriteModule("dbiuse", $$"""
            local async = require "util.async"
            local DBI = require "DBI"
            module:hook("start", function()
              local out, started = {}, false
              local function add(...) local t = table.pack(...); for i = 1, t.n do t[i] = tostring(t[i]) end; out[#out + 1] = table.concat(t, " ") end
              local function body()
                local db = assert(DBI.Connect("SQLite3", {{System.Text.Json.JsonSerializer.Serialize(file)}}))
                add("suspended", started)
                add("do", DBI.Do(db, "CREATE TABLE t (id INTEGER, name TEXT, note TEXT)"), db:commit())
                add("insert", DBI.Do(db, "INSERT INTO t VALUES (?, ?, ?), (?, ?, ?)", 1, "a", nil, 2, "it's ?", "x"))
                add("rollback", db:rollback())
                local count = db:prepare("SELECT count(*) AS n FROM t")
                count:execute(); add("after rollback", count:fetch(true).n)
                DBI.Do(db, "INSERT INTO t VALUES (?, ?, ?), (?, ?, ?)", 1, "a", nil, 2, "it's ?", "x")
                add("commit", db:commit())
                add("autocommit", db:autocommit(true))
                local s = db:prepare("SELECT id, name, note FROM t WHERE id >= ? ORDER BY id")
                add("execute", s:execute(1))
                add("columns", table.concat(s:columns(), ","), s:rowcount())
                for row in s:rows(true) do add("named", row.id, row.name, row.note) end
                s:execute(2)
                for row in s:rows() do add("array", row[1], row[2], row[3]) end
                add("bad sql", db:prepare("SELEC nonsense"):execute())
                add("ping", db:ping())
                add("unknown driver", pcall(DBI.Connect, "Oracle", "x"))
                add("close", db:close(), db:ping(), db:prepare("SELECT 1"))
              end
              local runner = async.runner(function()
                local ok, err = xpcall(body, debug.traceback)
                if not ok then add("error", err) end
                module:fire_event("finished", { text = table.concat(out, "\n") })
              end)
              runner:run(true)
              started = true
              return true
            end)
            """);
        var finished = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await h.On(() => h.HostContext.Events.Hook("finished", e => { finished.TrySetResult(e["text"] as string); return null; }));
        Assert.Null(await h.Load("dbiuse"));
        await h.Fire("start", new EventData());
        var text = await finished.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("""
            suspended true
            do 0 true
            insert 2
            rollback true
            after rollback 0
            commit true
            autocommit true
            execute true
            columns id,name,note 2
            named 1 a nil
            named 2 it's ? x
            array 2 it's ? x
            bad sql false SQLite Error 1: 'near "SELEC": syntax error'.
            ping true
            unknown driver false Driver 'Oracle' not found. Available drivers are: PostgreSQL,SQLite3
            close true false nil database connection is closed
            """.ReplaceLineEndings("\n"), text);
    }

    [Fact]
    public async Task OutsideEveryRunner_AQuery_FailsFastNamingTheCall_AndACommitGoesOnByItself()
    {
        await using var h = RuntimeHarness.Create();
        var file = System.Text.Json.JsonSerializer.Serialize(Path.Combine(h.PluginDir, "outside.sqlite"));
        // entry.run is outside every runner: the connection cannot be waited for there.
        var error = await h.On(() => h.Runtime.Run($"local DBI = require 'DBI'; local db = DBI.Connect('SQLite3', {file}); return db"));
        Assert.NotNull(error);
        Assert.Contains("'Connect' cannot wait outside an async runner", error);

        // Inside a runner the same calls suspend; a commit outside one is not waited for, and says true.
        var ran = await h.On(() => h.Runtime.Run($$"""
            local DBI, async = require 'DBI', require 'util.async'
            local runner = async.runner(function()
              outside_db = assert(DBI.Connect('SQLite3', {{file}}))
              DBI.Do(outside_db, "CREATE TABLE t (id INTEGER)")
            end)
            runner:run(true)
            """));
        Assert.Null(ran);
        string? committed = null;
        for (int i = 0; i < 200 && committed is null; i++)
        {
            await Task.Delay(50);
            committed = await h.On(() => h.Runtime.Run("if outside_db then assert(outside_db:commit() == true) else error('not yet') end")) is null ? "true" : null;
        }
        Assert.Equal("true", committed);
    }
}
