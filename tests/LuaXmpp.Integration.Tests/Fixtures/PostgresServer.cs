using System.Diagnostics;
using System.Globalization;

namespace LuaXmpp.Tests.Fixtures;

/// <summary>
/// A real PostgreSQL 15 server for one test class (Debian's postgresql package): initdb into a
/// temp directory, pg_ctl start on a free loopback port with its unix socket in that directory,
/// a database and a password user for the code under test, stopped by PID at the end.
/// PostgreSQL refuses to run as root, so when the tests run as root every server command runs
/// as an unprivileged account (postgres when the package created it, else nobody) via setpriv.
/// Use with <see cref="PostgresFactAttribute"/>, which skips when the binaries are missing.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    public const string BinDirectory = "/usr/lib/postgresql/15/bin";
    public const string Superuser = "postgres";
    public const string Username = "luaxmpp";
    public const string Password = "luaxmpp-test-secret";
    public const string Database = "luaxmpp";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(120);
    private readonly string _root;
    private readonly string? _runAs;

    private PostgresServer(string root, string? runAs, int port)
    {
        _root = root;
        _runAs = runAs;
        Port = port;
    }

    public string Host => "127.0.0.1";
    public int Port { get; private set; }

    /// <summary>Directory of the unix socket (and of the data directory and log).</summary>
    public string SocketDirectory => _root;
    public string DataDirectory => Path.Combine(_root, "data");
    public string LogFile => Path.Combine(_root, "postgres.log");

    /// <summary>Why no server can start here (binaries missing), or null when one can.</summary>
    public static string? Unavailable =>
        File.Exists(Path.Combine(BinDirectory, "pg_ctl")) && File.Exists(Path.Combine(BinDirectory, "initdb"))
            ? null
            : $"PostgreSQL 15 binaries not found in {BinDirectory} (Debian package postgresql; scripts/test.sh installs it)";

    /// <summary>An Npgsql connection string for <see cref="Database"/> as <see cref="Username"/>.</summary>
    public string ConnectionString(string? database = null) =>
        $"Host={Host};Port={Port};Database={database ?? Database};Username={Username};Password={Password}";

    /// <summary>The Prosody-style <c>sql = { ... }</c> table for a server config.</summary>
    public string SqlOption(string? database = null) =>
        $"{{ driver = \"PostgreSQL\", host = \"{Host}\", port = {Port}, database = \"{database ?? Database}\", " +
        $"username = \"{Username}\", password = \"{Password}\" }}";

    /// <param name="durable">Keep fsync on (benchmarks); tests leave it off, they never crash the machine.</param>
    /// <summary>The same option as a parsed config table (what the storage manager reads).</summary>
    public LuaXmpp.Configuration.ConfigTable SqlTable(string? database = null)
    {
        var sql = new LuaXmpp.Configuration.ConfigTable();
        sql.Hash["driver"] = "PostgreSQL";
        sql.Hash["host"] = Host;
        sql.Hash["port"] = (long)Port;
        sql.Hash["database"] = database ?? Database;
        sql.Hash["username"] = Username;
        sql.Hash["password"] = Password;
        return sql;
    }

    public static async Task<PostgresServer> StartAsync(bool durable = false)
    {
        if (Unavailable is { } reason) throw new InvalidOperationException(reason);
        var root = Directory.CreateTempSubdirectory("luaxmpp-pg-").FullName;
        var runAs = Environment.IsPrivilegedProcess ? PickAccount() : null;
        var server = new PostgresServer(root, runAs, 0);
        try
        {
            await server.InitAsync(durable);
            await server.StartOnFreePortAsync();
            await server.CreateDatabaseAsync(Database);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>A fresh empty database owned by the test user (one per test keeps tests apart).</summary>
    public async Task CreateDatabaseAsync(string name)
    {
        await PsqlAsync($"CREATE DATABASE \"{name}\" OWNER \"{Username}\" ENCODING 'UTF8' TEMPLATE template0", "postgres");
    }

    /// <summary>Runs SQL through psql over the unix socket as the superuser; returns unaligned rows.</summary>
    public async Task<string> PsqlAsync(string sql, string? database = null)
    {
        var result = await RunAsync("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
            "-h", _root, "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", Superuser,
            "-d", database ?? Database, "-c", sql);
        if (result.ExitCode != 0) throw new InvalidOperationException("psql failed: " + result);
        return result.Stdout.Trim();
    }

    /// <summary>Stops the server (fast shutdown, by PID) and keeps its data for <see cref="RestartAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (ReadPostmasterPid() is not { } pid) return;
        await SignalAsync(pid, "INT");
        if (!await WaitGoneAsync(pid, TimeSpan.FromSeconds(60)))
        {
            await SignalAsync(pid, "KILL");
            await WaitGoneAsync(pid, TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>Starts the stopped server again on the same port (clients reconnect to it).</summary>
    public async Task RestartAsync()
    {
        var result = await PgCtlStartAsync();
        if (result.ExitCode != 0) throw new InvalidOperationException($"pg_ctl start failed: {result}\n{ReadLog()}");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            await DeleteRootAsync();
        }
    }

    /// <summary>Removes the temp directory; retried briefly, as the server's last files may still be closing.</summary>
    private async Task DeleteRootAsync()
    {
        for (var attempt = 0; attempt < 10 && Directory.Exists(_root); attempt++)
        {
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await Task.Delay(200);
            }
        }
    }

    public string ReadLog() => File.Exists(LogFile) ? File.ReadAllText(LogFile) : "(no log)";

    private static string PickAccount()
    {
        using var passwd = new StreamReader("/etc/passwd");
        var hasPostgres = passwd.ReadToEnd().Split('\n').Any(l => l.StartsWith("postgres:", StringComparison.Ordinal));
        return hasPostgres ? "postgres" : "nobody";
    }

    private async Task InitAsync(bool durable)
    {
        var pwfile = Path.Combine(_root, "pwfile");
        await File.WriteAllTextAsync(pwfile, Password + "\n");
        if (_runAs is not null)
        {
            var chown = await ChildProcess.RunAsync("chown", ["-R", _runAs + ":", _root], _root, CommandTimeout);
            if (chown.ExitCode != 0) throw new InvalidOperationException("chown failed: " + chown);
        }

        // Local (socket) connections trust, so psql here needs no password; TCP needs the
        // password (scram-sha-256), as a production server would ask of LuaXmpp.
        var init = await RunAsync("initdb", "-D", DataDirectory, "-U", Superuser, "-E", "UTF8", "--locale=C",
            "--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile=" + pwfile, "--no-sync");
        if (init.ExitCode != 0) throw new InvalidOperationException("initdb failed: " + init);
        await File.AppendAllTextAsync(Path.Combine(DataDirectory, "postgresql.conf"),
            "\nlisten_addresses = '127.0.0.1'\n" +
            $"unix_socket_directories = '{_root}'\n" +
            "max_connections = 100\n" +
            (durable
                ? "shared_buffers = 256MB\n"
                // Tests stop and start the server, never the machine: fsync buys nothing here but time.
                : "shared_buffers = 32MB\nfsync = off\nfull_page_writes = off\n"));
    }

    private async Task StartOnFreePortAsync()
    {
        CommandResult? last = null;
        for (var attempt = 0; attempt < 5; attempt++)
        {
            Port = FreePorts.Take(1)[0];
            last = await PgCtlStartAsync();
            if (last.ExitCode == 0) return;
        }

        throw new InvalidOperationException($"pg_ctl start failed 5 times: {last}\n{ReadLog()}");
    }

    private async Task<CommandResult> PgCtlStartAsync()
    {
        var result = await RunAsync("pg_ctl", "start", "-w", "-t", "60", "-D", DataDirectory, "-l", LogFile,
            "-o", "-p " + Port.ToString(CultureInfo.InvariantCulture));
        if (result.ExitCode == 0)
        {
            await PsqlAsync($"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{Username}') THEN " +
                $"CREATE ROLE \"{Username}\" LOGIN PASSWORD '{Password}'; END IF; END $$", "postgres");
        }

        return result;
    }

    private int? ReadPostmasterPid()
    {
        var pidFile = Path.Combine(DataDirectory, "postmaster.pid");
        if (!File.Exists(pidFile)) return null;
        var first = File.ReadLines(pidFile).FirstOrDefault();
        return int.TryParse(first, NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid) ? pid : null;
    }

    private async Task SignalAsync(int pid, string signal) =>
        await ChildProcess.RunAsync("kill", ["-s", signal, pid.ToString(CultureInfo.InvariantCulture)], _root, CommandTimeout);

    private static async Task<bool> WaitGoneAsync(int pid, TimeSpan limit)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < limit)
        {
            if (!File.Exists($"/proc/{pid}") && !Directory.Exists($"/proc/{pid}")) return true;
            await Task.Delay(50);
        }

        return false;
    }

    private Task<CommandResult> RunAsync(string tool, params string[] arguments)
    {
        var path = Path.Combine(BinDirectory, tool);
        if (_runAs is null) return ChildProcess.RunAsync(path, arguments, _root, CommandTimeout);
        string[] wrapped = ["--reuid", _runAs, "--regid", _runAs == "nobody" ? "nogroup" : _runAs, "--init-groups", "--", path, .. arguments];
        return ChildProcess.RunAsync("setpriv", wrapped, _root, CommandTimeout);
    }
}
