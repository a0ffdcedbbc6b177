using System.Text.Json;

namespace LuaXmpp.Tests.Fixtures;

/// <summary>Runs one of the slixmpp scripts in <c>clients/</c> against a server.</summary>
/// <remarks>The Debian interpreter is named explicitly: slixmpp comes from the
/// python3-slixmpp package, and a <c>python3</c> earlier on PATH (pyenv) lacks it.</remarks>
public static class PythonClient
{
    public const string Interpreter = "/usr/bin/python3";

    // Longer than the scripts' own 25 s deadline, so a script normally reports its timeout itself.
    private static readonly TimeSpan HardTimeout = TimeSpan.FromSeconds(45);

    public static string ScriptDirectory => Path.Combine(AppContext.BaseDirectory, "clients");

    public static async Task<ClientResult> RunAsync(ServerProcess server, string script, params string[] arguments)
    {
        string[] all = [Path.Combine(ScriptDirectory, script), "--host", "127.0.0.1", "--port", server.C2sPort.ToString(), .. arguments];
        return await RunRawAsync(server, all);
    }

    /// <summary>Like <see cref="RunAsync"/> but against the direct TLS port (XEP-0368).</summary>
    public static async Task<ClientResult> RunDirectTlsAsync(ServerProcess server, string script, params string[] arguments)
    {
        string[] all = [Path.Combine(ScriptDirectory, script), "--host", "127.0.0.1", "--port", server.DirectTlsPort.ToString(), "--direct-tls", .. arguments];
        return await RunRawAsync(server, all);
    }

    private static async Task<ClientResult> RunRawAsync(ServerProcess server, string[] arguments)
    {
        var command = await ChildProcess.RunAsync(Interpreter, arguments, ScriptDirectory, HardTimeout);
        var json = ParseLastJsonLine(command.Stdout);
        return new ClientResult(Path.GetFileName(arguments[0]), command, json, server);
    }

    private static JsonElement? ParseLastJsonLine(string stdout)
    {
        var line = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .LastOrDefault(l => l.StartsWith('{'));
        if (line is null)
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(line).RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
