using System.Text;

namespace LuaXmpp.Tests.Fixtures;

/// <summary>A Prosody-syntax configuration file for one test server. Global options are
/// kept as Lua expressions so a test can override any of them before the server starts.</summary>
public sealed class ServerConfig
{
    private readonly List<KeyValuePair<string, string>> _options = [];

    public List<string> VirtualHosts { get; } = ["localhost"];

    /// <summary>Config text appended verbatim after the VirtualHost lines (more hosts, Components with options).</summary>
    public List<string> ExtraSections { get; } = [];

    /// <summary>Sets (or replaces) a global option; <paramref name="luaExpression"/> is
    /// written verbatim, e.g. <c>"true"</c>, <c>"{ 5222 }"</c> or <c>Lua("sql")</c>.</summary>
    public ServerConfig Set(string name, string luaExpression)
    {
        var index = _options.FindIndex(o => o.Key == name);
        var option = KeyValuePair.Create(name, luaExpression);
        if (index >= 0)
        {
            _options[index] = option;
        }
        else
        {
            _options.Add(option);
        }

        return this;
    }

    public ServerConfig Remove(string name)
    {
        _options.RemoveAll(o => o.Key == name);
        return this;
    }

    public string? Get(string name) => _options.Find(o => o.Key == name).Value;

    /// <summary>A Lua string literal (long-bracket free, escaped).</summary>
    public static string Lua(string value)
    {
        var text = new StringBuilder("\"");
        foreach (var c in value)
        {
            text.Append(c switch
            {
                '\\' => "\\\\",
                '"' => "\\\"",
                '\n' => "\\n",
                _ => c.ToString(),
            });
        }

        return text.Append('"').ToString();
    }

    public static string LuaList(params string[] values) =>
        "{ " + string.Join("; ", values.Select(Lua)) + " }";

    public string Render()
    {
        var text = new StringBuilder("-- written by the LuaXmpp integration tests\n");
        foreach (var (name, value) in _options)
        {
            text.Append(name).Append(" = ").Append(value).Append('\n');
        }

        foreach (var host in VirtualHosts)
        {
            text.Append("\nVirtualHost ").Append(Lua(host)).Append('\n');
        }

        foreach (var section in ExtraSections)
        {
            text.Append('\n').Append(section).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>The configuration every scenario starts from (the server contract's test config).</summary>
    public static ServerConfig Default(int c2sPort, int directTlsPort, string dataPath, string logPath) =>
        new ServerConfig()
            // CI runs the suite as root: the server (as Prosody's daemon) refuses root without it.
            .Set("run_as_root", "true")
            .Set("interfaces", LuaList("127.0.0.1"))
            .Set("c2s_ports", $"{{ {c2sPort} }}")
            .Set("c2s_direct_tls_ports", $"{{ {directTlsPort} }}")
            .Set("s2s_ports", "{}") // federation tests set their own; no test server takes 5269
            .Set("data_path", Lua(dataPath))
            .Set("allow_registration", "true")
            .Set("c2s_require_encryption", "true")
            .Set("authentication", Lua("internal_hashed"))
            .Set("storage", Lua("sql"))
            .Set("log", $"{{ debug = {Lua(logPath)} }}")
            .Set("modules_enabled", LuaList(
                "roster", "saslauth", "tls", "disco", "ping", "register", "time", "version", "uptime", "offline"));
}
