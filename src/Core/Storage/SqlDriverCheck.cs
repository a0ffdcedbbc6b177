using LuaXmpp.Configuration;

namespace LuaXmpp.Storage;

/// <summary>
/// Which <c>sql.driver</c> values this server serves (Prosody's names: "SQLite3", "PostgreSQL",
/// "MySQL"), and the start-up check that refuses the others instead of falling back.
/// </summary>
internal static class SqlDriverCheck
{
    public const string Sqlite = "SQLite3";
    public const string PostgreSql = "PostgreSQL";

    public static string DriverOf(ConfigTable? sql) => ConfigValues.AsString(sql?.Hash.GetValueOrDefault("driver")) ?? Sqlite;

    /// <summary>Throws when a host that keeps any store in "sql" names a driver we do not have.</summary>
    public static void ThrowIfUnsupported(ServerConfig config, StorageManager manager)
    {
        foreach (var host in config.Hosts.Select(h => (string?)h.Name).Prepend(null))
        {
            if (!UsesSql(config, manager, host)) continue;
            string driver = DriverOf(config.Get(host, "sql") as ConfigTable);
            if (driver is Sqlite or PostgreSql) continue;
            string where = host is null ? "" : $" (for {host})";
            throw new StorageConfigException(
                $"Unsupported option sql.driver = \"{driver}\"{where}: LuaXmpp stores data in \"{Sqlite}\" or \"{PostgreSql}\"; change the sql option or the storage option");
        }
    }

    private static bool UsesSql(ServerConfig config, StorageManager manager, string? host)
    {
        if (manager.DriverNameFor(host ?? "*", null) == "sql") return true;
        return config.Get(host, "storage") is ConfigTable table
            && table.Hash.Values.Any(v => ConfigValues.AsString(v) is "sql" or "sql2");
    }
}
