using LuaXmpp.Accounts;
using LuaXmpp.Configuration;
using LuaXmpp.Hosting;
using LuaXmpp.Hosts;
using LuaXmpp.Loop;
using LuaXmpp.Storage;
using LuaXmpp.Tests.Storage;

namespace LuaXmpp.Tests.Hosting;

/// <summary>
/// A module unloaded while its load waits, then loaded again (an operator's reload): when the
/// first load ends after all, the module stays loaded by the later load.
/// </summary>
public sealed class StaleLoadTests
{
    private const string Module = "example";

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task StaleLoadEndingAfterALaterLoadStarted_LeavesTheModuleLoaded(bool laterLoadEndsFirst)
    {
        await using var fixture = await Fixture.StartAsync();
        var (loop, modules, runtime, host) = (fixture.Loop, fixture.Modules, fixture.Runtime, fixture.Host);

        var first = await loop.InvokeAsync(() => modules.LoadAsync(host, Module));
        Assert.True(await loop.InvokeAsync(() => modules.Unload(host, Module)));
        var second = await loop.InvokeAsync(() => modules.LoadAsync(host, Module));
        Assert.NotSame(first, second);
        foreach (int load in laterLoadEndsFirst ? [1, 0] : new[] { 0, 1 })
        {
            await loop.InvokeAsync(() => runtime.Complete(load, null));
            // The first load was given up, whatever its runtime achieved; the second stands.
            if (load == 0) Assert.NotNull(await first);
            else Assert.Null(await second);
        }

        Assert.True(await loop.InvokeAsync(() => modules.IsLoaded(host.Name, Module)));
        Assert.Equal(0, runtime.Unloads);
        Assert.True(runtime.ModuleLoaded);
    }

    [Fact]
    public async Task StaleLoadEndingWithNoLaterLoad_IsUnloaded()
    {
        await using var fixture = await Fixture.StartAsync();
        var (loop, modules, runtime, host) = (fixture.Loop, fixture.Modules, fixture.Runtime, fixture.Host);

        var first = await loop.InvokeAsync(() => modules.LoadAsync(host, Module));
        Assert.True(await loop.InvokeAsync(() => modules.Unload(host, Module)));
        await loop.InvokeAsync(() => runtime.Complete(0, null));
        Assert.NotNull(await first);

        Assert.False(await loop.InvokeAsync(() => modules.IsLoaded(host.Name, Module)));
        Assert.Equal(1, runtime.Unloads);
        Assert.False(runtime.ModuleLoaded);
    }

    /// <summary>
    /// A runtime whose loads wait until the test ends them, and which cannot give a waiting load
    /// up (CancelLoad false). Like the Lua runtime, it keeps one module state per (host, name):
    /// Unload unloads whichever load put it there.
    /// </summary>
    private sealed class HeldRuntime : IModuleRuntime
    {
        private readonly List<TaskCompletionSource<string?>> _loads = [];

        public bool ModuleLoaded { get; private set; }

        public int Unloads { get; private set; }

        public bool CanLoad(string name) => name == Module;

        public Task<string?> LoadAsync(HostContext host, string name, TimeSpan timeout)
        {
            var load = new TaskCompletionSource<string?>();
            _loads.Add(load);
            return load.Task;
        }

        /// <summary>Ends the <paramref name="index"/>th load (0 is the first) with <paramref name="error"/>.</summary>
        public void Complete(int index, string? error)
        {
            if (error is null) ModuleLoaded = true;
            _loads[index].SetResult(error);
        }

        public bool Unload(HostContext host, string name)
        {
            Unloads++;
            bool was = ModuleLoaded;
            ModuleLoaded = false;
            return was;
        }
    }

    private sealed class Fixture : IAsyncDisposable
    {
        private readonly TempDirectory _data;
        private readonly StorageManager _storage;

        private Fixture(ServerLoop loop, TempDirectory data, StorageManager storage, XmppServer server, HostContext host)
        {
            Loop = loop;
            _data = data;
            _storage = storage;
            Modules = server.Modules;
            Modules.Runtime = Runtime;
            Host = host;
        }

        public ServerLoop Loop { get; }

        public ModuleManager Modules { get; }

        public HeldRuntime Runtime { get; } = new();

        public HostContext Host { get; }

        public static async Task<Fixture> StartAsync()
        {
            var hostConfig = new HostConfig("localhost", HostKind.VirtualHost, null, new Dictionary<string, object?>());
            var config = new ServerConfig(null, new Dictionary<string, object?> { ["storage"] = "memory" }, [hostConfig]);
            var data = new TempDirectory();
            var storage = new StorageManager(config, data.Path);
            var loop = new ServerLoop();
            loop.Start();
            var server = new XmppServer(config, loop, storage, host => new InternalHashedProvider(host, storage, iterations: 64));
            var host = await loop.InvokeAsync(() => server.ActivateHost(hostConfig));
            return new Fixture(loop, data, storage, server, host);
        }

        public async ValueTask DisposeAsync()
        {
            await Loop.DisposeAsync();
            _storage.Dispose();
            _data.Dispose();
        }
    }
}
