using Dapper;
using LuaXmpp.Storage.Sql;
using Npgsql;

namespace LuaXmpp.Storage.Postgres;

/// <summary>A keyval store in the "prosody" table, mod_storage_sql's layout (see <see cref="ProsodySql.ToRows"/>).</summary>
internal sealed class PostgresKeyValueStore(PostgresDatabase db, string host, string store) : IKeyValueStore
{
    private readonly StoreScope _rows = StoreScope.KeyValue(host, store);

    public Task<DataTable?> GetAsync(string? user) => db.ReadAsync(_rows, async c =>
        ProsodySql.ToTable(await c.QueryAsync<(string Key, string Type, string Value)>(
            ProsodySql.SelectUserRows, new { host, user = user ?? "", store }).ConfigureAwait(false)));

    public Task SetAsync(string? user, DataTable? data)
    {
        var clean = DataValues.WithoutNulls(data);
        return db.WriteAsync(_rows, async (c, tx) =>
        {
            var who = user ?? "";
            await c.ExecuteAsync(ProsodySql.DeleteUserStore, new { host, user = who, store }, tx).ConfigureAwait(false);
            if (clean is not null)
            {
                foreach (var (key, value) in ProsodySql.ToRows(clean)) await InsertAsync(c, tx, host, store, who, key, value).ConfigureAwait(false);
            }
            return true;
        });
    }

    public async IAsyncEnumerable<string> UsersAsync()
    {
        var users = await db.ReadAsync(_rows, async c => (await c.QueryAsync<string>(ProsodySql.SelectUsers, new { host, store }).ConfigureAwait(false)).ToList())
            .ConfigureAwait(false);
        foreach (var u in users) yield return u;
    }

    internal static Task InsertAsync(NpgsqlConnection c, NpgsqlTransaction tx, string host, string store, string user, string key, StoredValue value) =>
        c.ExecuteAsync(ProsodySql.InsertRow, new { host, user, store, key, type = value.Type, value = value.Text }, tx);
}
