using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace LuaXmpp.Tests.Fixtures;

/// <summary>
/// One real server process on free loopback ports with its own temporary directory
/// (config, data, certificates, log). Every scenario starts a fresh one.
/// </summary>
/// <remarks>
/// Failures must be diagnosable from the test report alone, so <see cref="Check"/> and
/// <see cref="DisposeAsync"/> attach the server's console output and log tail. Disposal
/// always stops the process (SIGTERM, then kill), even when the test failed.
/// </remarks>
public sealed class ServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan CliTimeout = TimeSpan.FromSeconds(60);

    private readonly ITestOutputHelper? _output;
    private readonly OutputBuffer _console = new();
    private Process? _process;

    private ServerProcess(ITestOutputHelper? output, ServerConfig config, string directory, int c2sPort, int directTlsPort, ServerFlavor flavor)
    {
        _output = output;
        Flavor = flavor;
        Config = config;
        Directory = directory;
        C2sPort = c2sPort;
        DirectTlsPort = directTlsPort;
    }

    /// <summary>The binary started; a test may switch it between starts to hand the same directory to the other server.</summary>
    public ServerFlavor Flavor { get; set; } = ServerFlavor.Current;

    public ServerConfig Config { get; }

    public string Directory { get; }

    public string ConfigPath => Path.Combine(Directory, "prosody.cfg.lua");

    public string LogPath => Path.Combine(Directory, "server.log");

    public string DataPath => Path.Combine(Directory, "data");

    public int C2sPort { get; }

    public int DirectTlsPort { get; }

    public string Host => Config.VirtualHosts[0];

    public int? ExitCode => _process is { HasExited: true } ? _process.ExitCode : null;

    /// <summary>Prepares directory and config without starting, for CLI-only tests.</summary>
    /// <param name="flavor">The server to run; default <see cref="ServerFlavor.Current"/> (a test comparing servers names one).</param>
    public static async Task<ServerProcess> CreateAsync(ITestOutputHelper? output, Action<ServerConfig>? configure = null, ServerFlavor? flavor = null)
    {
        flavor ??= ServerFlavor.Current;
        var directory = System.IO.Directory.CreateTempSubdirectory("luaxmpp-itest-").FullName;
        var ports = FreePorts.Take(2);
        var config = ServerConfig.Default(ports[0], ports[1], Path.Combine(directory, "data"),
            Path.Combine(directory, "server.log"));
        flavor.Adapt(config, directory);
        await ServerStorage.AdaptAsync(config);
        configure?.Invoke(config);
        var server = new ServerProcess(output, config, directory, ports[0], ports[1], flavor);
        await server.WriteConfigAsync();
        await server.Flavor.PrepareAsync(config, directory);
        return server;
    }

    public static async Task<ServerProcess> StartAsync(ITestOutputHelper? output, Action<ServerConfig>? configure = null)
    {
        // FreePorts' ports are free when taken, but until the server binds them another process
        // may take one (a client's outgoing socket gets an ephemeral port; the suite's two lanes
        // start servers at once): the server then refuses to start, naming the port. A fresh
        // pair of ports then, up to three times.
        for (int attempt = 1; ; attempt++)
        {
            var server = await CreateAsync(output, configure);
            try
            {
                await server.StartAsync();
                return server;
            }
            catch (XunitException ex) when (attempt < 3 && ex.Message.Contains("is already in use", StringComparison.Ordinal))
            {
                await server.DisposeAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    public Task WriteConfigAsync() => File.WriteAllTextAsync(ConfigPath, Config.Render());

    /// <summary>Writes the config and starts the process; a server that fails to start is disposed before the error goes on.</summary>
    public async Task<ServerProcess> LaunchAsync()
    {
        try
        {
            await WriteConfigAsync();
            await StartAsync();
            return this;
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async Task StartAsync()
    {
        if (_process is { HasExited: false })
        {
            throw new InvalidOperationException("server already running");
        }

        System.IO.Directory.CreateDirectory(DataPath);
        var (fileName, arguments) = Flavor.ServerCommand(ConfigPath);
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = Directory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => _console.Append(e.Data);
        process.ErrorDataReceived += (_, e) => _console.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();
        _process = process;
        await WaitUntilListeningAsync(process);
    }

    private async Task WaitUntilListeningAsync(Process process)
    {
        var deadline = Stopwatch.StartNew();
        foreach (var port in new[] { C2sPort, DirectTlsPort })
        {
            while (!await AcceptsAsync(port))
            {
                if (process.HasExited)
                {
                    throw new XunitException($"server exited with code {process.ExitCode} before listening on {port}\n{Describe()}");
                }

                if (deadline.Elapsed > StartTimeout)
                {
                    throw new XunitException($"server did not listen on {port} within {StartTimeout.TotalSeconds} s\n{Describe()}");
                }

                // A refused connect costs microseconds; the start itself takes ~0.5 s, so a short poll
                // hands the test its server sooner (~400 starts in the suite) at no load.
                await Task.Delay(20);
            }
        }
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>SIGTERM and wait (a clean stop flushes storage); kill if it does not go.</summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        // From "/": the server's directory may be gone by now (a test that removed it), and a missing
        // working directory would fail the start of kill itself.
        await ChildProcess.RunAsync("kill", ["-TERM", process.Id.ToString()], "/", TimeSpan.FromSeconds(10));
        using var timeout = new CancellationTokenSource(StopTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _console.Append($"[fixture] server ignored SIGTERM for {StopTimeout.TotalSeconds} s; killed");
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>
    /// SIGKILL (no chance to flush or close anything) and wait until the process is gone; the
    /// directory stays, so <see cref="StartAsync()"/> can restart on the same data.
    /// </summary>
    public void Kill()
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        _console.Append("[fixture] server killed (SIGKILL)");
        process.Kill(); // Process.Kill sends SIGKILL on Unix
        process.WaitForExit();
    }

    /// <summary>Runs the server binary as an administrative CLI against this config.</summary>
    public Task<CommandResult> RunCliAsync(IEnumerable<string> arguments, string? stdin = null)
    {
        var (fileName, all) = Flavor.CliCommand(ConfigPath, arguments);
        return ChildProcess.RunAsync(fileName, all, Directory, CliTimeout, stdin);
    }

    public Task<CommandResult> RunCliAsync(params string[] arguments) => RunCliAsync(arguments, null);

    /// <summary>Creates an account through the CLI; a failure here is a fixture failure.</summary>
    public async Task RegisterAsync(string user, string password)
    {
        var result = await RunCliAsync("register", user, Host, password);
        if (result.ExitCode != 0)
        {
            throw new XunitException($"register {user}@{Host} failed: {result}\n{Describe()}");
        }
    }

    public string Jid(string user) => $"{user}@{Host}";

    /// <summary>Runs assertions and, when one fails, re-throws it with the server's side of the story.</summary>
    public void Check(Action assertions)
    {
        try
        {
            assertions();
        }
        catch (XunitException e)
        {
            throw new XunitException(e.Message + "\n" + Describe(), e);
        }
    }

    public string LogTail(int lines = 120)
    {
        if (!File.Exists(LogPath))
        {
            return $"(no log file at {LogPath})";
        }

        using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        var tail = new Queue<string>();
        while (reader.ReadLine() is { } line)
        {
            tail.Enqueue(line);
            if (tail.Count > lines)
            {
                tail.Dequeue();
            }
        }

        return string.Join('\n', tail);
    }

    public string Describe()
    {
        var text = new StringBuilder();
        text.Append($"=== {Flavor.Name} server in {Directory} (c2s {C2sPort}, direct TLS {DirectTlsPort})");
        text.Append(_process is null ? ", not started" : _process.HasExited ? $", exited with {_process.ExitCode}" : ", running");
        text.Append("\n=== console ===\n").Append(Tail(_console.ToString(), 40));
        text.Append("\n=== log tail ===\n").Append(LogTail());
        return text.ToString();
    }

    private static string Tail(string text, int lines) =>
        string.Join('\n', text.Split('\n').TakeLast(lines));

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            _output?.WriteLine(Describe());
            _process?.Dispose();
            if (Environment.GetEnvironmentVariable("LUAXMPP_ITEST_KEEP") is null)
            {
                TryDelete(Directory);
            }
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A straggling child may still hold a file; temp dirs are cleaned by the OS.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
