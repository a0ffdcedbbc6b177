using System.Data.Common;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace LuaXmpp.LuaBridge.Runtime;

/// <summary>The rows a statement gave: column names, row values (null for SQL NULL), rows changed.</summary>
internal sealed record DbiResult(string[] Columns, List<object?[]> Rows, int Affected);

/// <summary>
/// One LuaDBI connection (the DBI shim, Lua/DBI.lua) over Microsoft.Data.Sqlite or Npgsql. Every
/// operation is a task that runs off the loop, one at a time per connection (LuaDBI connections
/// are not shared between statements in flight), and gives up after <see cref="OperationTimeout"/>,
/// so a runner suspended on it (the loop never waits for it) resumes within a bounded time.
/// With autocommit off (LuaDBI's default) the first statement opens a transaction that
/// commit/rollback end.
/// </summary>
internal sealed class DbiConnection : IAsyncDisposable
{
    private static readonly TimeSpan OperationTimeout = TimeSpan.FromSeconds(30);

    private readonly DbConnection _connection;
    private readonly bool _postgres;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private DbTransaction? _transaction;
    private bool _autoCommit;

    private DbiConnection(DbConnection connection, bool postgres)
    {
        _connection = connection;
        _postgres = postgres;
    }

    /// <summary>Opens a connection as DBI.Connect does: driver "SQLite3" (name is the file) or "PostgreSQL".</summary>
    public static Task<DbiConnection> OpenAsync(string driver, string name, string? user, string? password, string? host, int? port) =>
        Task.Run(() => Open(driver, name, user, password, host, port));

    private static async Task<DbiConnection> Open(string driver, string name, string? user, string? password, string? host, int? port)
    {
        bool postgres = driver switch
        {
            "SQLite3" => false,
            "PostgreSQL" => true,
            _ => throw new ArgumentException($"Driver '{driver}' not found (LuaXmpp's DBI has SQLite3 and PostgreSQL)"),
        };
        DbConnection connection = postgres
            ? new NpgsqlConnection(new NpgsqlConnectionStringBuilder
            {
                Host = string.IsNullOrEmpty(host) ? "localhost" : host,
                Port = port ?? 5432,
                Database = name,
                Username = user,
                Password = password,
                ApplicationName = "luaxmpp-dbi",
                Pooling = false,
            }.ConnectionString)
            : new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = name,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Pooling = false,
                DefaultTimeout = 10,
            }.ToString());
        using var timeout = new CancellationTokenSource(OperationTimeout);
        try
        {
            await connection.OpenAsync(timeout.Token).ConfigureAwait(false);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return new DbiConnection(connection, postgres);
    }

    /// <summary>Runs one statement with its '?' parameters bound in order.</summary>
    public Task<DbiResult> ExecuteAsync(string sql, object?[] parameters) => Exclusive(async token =>
    {
        if (!_autoCommit && _transaction is null)
            _transaction = await _connection.BeginTransactionAsync(token).ConfigureAwait(false);
        await using var command = _connection.CreateCommand();
        command.Transaction = _transaction;
        command.CommandText = Positional(sql);
        for (int i = 0; i < parameters.Length; i++)
        {
            var p = command.CreateParameter();
            if (!_postgres) p.ParameterName = "@p" + (i + 1).ToString(CultureInfo.InvariantCulture);
            p.Value = parameters[i] ?? DBNull.Value;
            command.Parameters.Add(p);
        }
        await using var reader = await command.ExecuteReaderAsync(token).ConfigureAwait(false);
        var columns = new string[reader.FieldCount];
        for (int i = 0; i < columns.Length; i++) columns[i] = reader.GetName(i);
        var rows = new List<object?[]>();
        while (await reader.ReadAsync(token).ConfigureAwait(false))
        {
            var row = new object?[columns.Length];
            for (int i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return new DbiResult(columns, rows, Math.Max(reader.RecordsAffected, 0));
    });

    /// <summary>Whether the server still answers.</summary>
    public Task<bool> PingAsync() => Exclusive(async token =>
    {
        await using var command = _connection.CreateCommand();
        command.CommandText = "SELECT 1";
        command.Transaction = _transaction;
        await command.ExecuteScalarAsync(token).ConfigureAwait(false);
        return true;
    });

    /// <summary>Ends the open transaction (commit or rollback); true when there was none.</summary>
    public Task<bool> EndTransactionAsync(bool commit) => Exclusive(async token =>
    {
        var transaction = _transaction;
        _transaction = null;
        if (transaction is null) return true;
        await using (transaction.ConfigureAwait(false))
        {
            if (commit) await transaction.CommitAsync(token).ConfigureAwait(false);
            else await transaction.RollbackAsync(token).ConfigureAwait(false);
        }
        return true;
    });

    /// <summary>autocommit(on): turning it on commits what is open, as LuaDBI's drivers do.</summary>
    public async Task<bool> SetAutoCommitAsync(bool on)
    {
        if (on) await EndTransactionAsync(commit: true).ConfigureAwait(false);
        _autoCommit = on;
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_transaction is not null) await _transaction.DisposeAsync().ConfigureAwait(false);
            _transaction = null;
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    // Task.Run: Microsoft.Data.Sqlite's "async" methods run synchronously, and the caller is the loop.
    private Task<T> Exclusive<T>(Func<CancellationToken, Task<T>> work) => Task.Run(() => Run(work));

    private async Task<T> Run<T>(Func<CancellationToken, Task<T>> work)
    {
        using var timeout = new CancellationTokenSource(OperationTimeout);
        await _gate.WaitAsync(timeout.Token).ConfigureAwait(false);
        try
        {
            return await work(timeout.Token).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    // LuaDBI statements mark parameters with '?'; Npgsql binds positional $1.., Microsoft.Data.Sqlite
    // binds by name, so each '?' outside a quoted string or identifier becomes $n or @pn.
    private string Positional(string sql)
    {
        var text = new StringBuilder(sql.Length + 16);
        char quote = '\0';
        int n = 0;
        foreach (char c in sql)
        {
            if (quote != '\0')
            {
                if (c == quote) quote = '\0';
                text.Append(c);
            }
            else if (c is '\'' or '"' or '`')
            {
                quote = c;
                text.Append(c);
            }
            else if (c == '?')
            {
                n++;
                text.Append(_postgres ? "$" : "@p").Append(n.ToString(CultureInfo.InvariantCulture));
            }
            else
            {
                text.Append(c);
            }
        }
        return text.ToString();
    }
}
