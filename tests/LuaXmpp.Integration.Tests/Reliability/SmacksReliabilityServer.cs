using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// The server the stream-management reliability tests run against: the default modules plus
/// mod_smacks, plain c2s with PLAIN allowed and internal_plain (so a proxy in the middle sees the
/// XML and reconnecting is cheap), logging at info (thousands of resumes at debug would be the load).
/// As a class fixture it is one shared server with bystanders (<see cref="SharedServer"/>).
/// </summary>
public sealed class SmacksReliabilityServer : SharedServer
{
    public const string Host = "localhost";

    public static Task<ServerProcess> StartAsync(ITestOutputHelper? output, Action<ServerConfig>? configure = null) =>
        ServerProcess.StartAsync(output, c =>
        {
            Apply(c);
            configure?.Invoke(c);
        });

    /// <summary>The settings above, on any server config.</summary>
    public static void Apply(ServerConfig c)
    {
        c.Set("modules_enabled", ServerConfig.LuaList(
            "roster", "saslauth", "tls", "disco", "ping", "register", "time", "version", "uptime", "offline", "smacks"));
        c.Set("c2s_require_encryption", "false")
            .Set("allow_unencrypted_plain_auth", "true")
            .Set("authentication", ServerConfig.Lua("internal_plain"))
            .Set("smacks_hibernation_time", "300")
            .Set("log", c.Get("log")!.Replace("debug =", "info =", StringComparison.Ordinal));
    }

    protected override void Configure(ServerConfig config) => Apply(config);
}
