using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LuaXmpp.Tests.Reliability.StanzaFuzz;

namespace LuaXmpp.Fuzz.Stanzas;

/// <summary>
/// Starts the real <c>luaxmpp</c> server (copied beside this tool by the project reference) in a temporary
/// directory with the stanza fuzzer's config, as the integration tests' ServerProcess does, and stops it
/// (SIGTERM, then kill) when disposed.
/// </summary>
public sealed class FuzzServerLauncher : IAsyncDisposable
{
    private readonly Process _process;
    private readonly bool _keep;

    private FuzzServerLauncher(Process process, string directory, int port, bool keep)
    {
        _process = process;
        Directory = directory;
        Port = port;
        _keep = keep;
    }

    public string Directory { get; }

    public int Port { get; }

    public string LogPath => Path.Combine(Directory, "server.log");

    public static async Task<FuzzServerLauncher> StartAsync(bool debugLog, bool keep)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("luaxmpp-stanzafuzz-").FullName;
        int port = FreePort(), tlsPort = FreePort();
        var plugins = Path.Combine(directory, "plugins");
        StanzaFuzzServerSetup.WritePlugins(plugins);
        var config = new List<string>
        {
            "run_as_root = true",
            "interfaces = { \"127.0.0.1\" }",
            $"c2s_ports = {{ {port} }}",
            $"c2s_direct_tls_ports = {{ {tlsPort} }}",
            $"data_path = \"{Path.Combine(directory, "data")}\"",
            "authentication = \"internal_hashed\"",
            "storage = \"sql\"",
        };
        config.AddRange(StanzaFuzzServerSetup.Options(plugins, Path.Combine(directory, "server.log"), debugLog).Select(o => $"{o.Name} = {o.Lua}"));
        config.Add("VirtualHost \"localhost\"");
        var configPath = Path.Combine(directory, "prosody.cfg.lua");
        await File.WriteAllLinesAsync(configPath, config);
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "data"));

        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "luaxmpp.dll"));
        info.ArgumentList.Add("--config");
        info.ArgumentList.Add(configPath);
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start luaxmpp");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine("[server] " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var launcher = new FuzzServerLauncher(process, directory, port, keep);
        var deadline = Stopwatch.StartNew();
        while (!await AcceptsAsync(port))
        {
            if (process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                await launcher.DisposeAsync();
                throw new InvalidOperationException($"server did not start (see {directory})");
            }
            await Task.Delay(100);
        }
        return launcher;
    }

    public StanzaFuzzTarget Target() => new(Port, "localhost", LogPath, () => _process.HasExited ? _process.ExitCode : null, RssKib);

    /// <summary>VmRSS of the server (the dotnet host runs luaxmpp.dll in its own process), from /proc.</summary>
    private long RssKib()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0]);
            }
        }
        catch (IOException)
        {
        }
        return 0;
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Stops the server at once (the tool is being interrupted: the server must not outlive it).</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()])) await kill.WaitForExitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        _process.Dispose();
        if (!_keep)
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
