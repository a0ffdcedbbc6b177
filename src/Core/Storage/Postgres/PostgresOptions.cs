using System.Globalization;
using LuaXmpp.Configuration;
using Npgsql;

namespace LuaXmpp.Storage.Postgres;

/// <summary>
/// The <c>sql</c> option for <c>driver = "PostgreSQL"</c>, read as Prosody's mod_storage_sql reads
/// it (database, host, port, username, password; LuaDBI hands them to libpq). No host means
/// libpq's default, the local socket directory (Debian: /var/run/postgresql).
/// </summary>
internal sealed record PostgresOptions(string Database, string Host, int Port, string? Username, string? Password)
{
    public const int DefaultPort = 5432;
    public const string DefaultSocketDirectory = "/var/run/postgresql";

    public static PostgresOptions From(ConfigTable? sql)
    {
        string? Text(string key) => sql is null ? null : ConfigValues.AsString(sql.Hash.GetValueOrDefault(key));
        var port = sql?.Hash.GetValueOrDefault("port") switch
        {
            long l => (int)l,
            double d => (int)d,
            string s when int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var p) => p,
            _ => DefaultPort,
        };
        return new PostgresOptions(Text("database") ?? "prosody", Text("host") ?? DefaultSocketDirectory, port, Text("username"), Text("password"));
    }

    /// <summary>Where, for log lines: never the password.</summary>
    public string Describe() => $"PostgreSQL database \"{Database}\" on {Host}:{Port.ToString(CultureInfo.InvariantCulture)}";

    public string ConnectionString() => new NpgsqlConnectionStringBuilder
    {
        Host = Host,
        Port = Port,
        Database = Database,
        Username = Username,
        Password = Password,
        ApplicationName = "luaxmpp",
        Pooling = true,
        MinPoolSize = 0,
        MaxPoolSize = 20,
        // Statements used twice are prepared on the server, per pooled physical connection.
        MaxAutoPrepare = 64,
        AutoPrepareMinUsages = 2,
        // A server that is down refuses at once; this bounds a slow or overloaded one. Callers
        // then get a typed error and the archive writer retries.
        Timeout = 15,
        CommandTimeout = 30,
    }.ConnectionString;
}
