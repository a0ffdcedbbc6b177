using System.Text;
using Dapper;

namespace LuaXmpp.Storage.Sql;

/// <summary>
/// The WHERE clause of an archive query over "prosodyarchive" (mod_storage_sql's semantics: time
/// bounds inclusive, Before/After exclusive by sort_id), shared by the SQLite and PostgreSQL
/// stores. Only fixed fragments are appended; every value is a parameter. A new filter (e.g.
/// full text) is one more <see cref="Add"/> in <see cref="Build"/> or in a driver's store.
/// </summary>
internal sealed class ArchiveFilter
{
    private readonly StringBuilder _where = new(""" "host"=@host AND "user"=@user AND "store"=@store""");

    private ArchiveFilter(string host, string store, string user)
    {
        Host = host;
        Store = store;
        User = user;
        Parameters.Add("host", host);
        Parameters.Add("user", user);
        Parameters.Add("store", store);
    }

    public string Host { get; }
    public string Store { get; }

    /// <summary>The "user" column value ("" for the host's own archive).</summary>
    public string User { get; }

    public DynamicParameters Parameters { get; } = new();

    public string Where => _where.ToString();

    /// <param name="arrayIds">
    /// PostgreSQL: the ids go as one array parameter (<c>= ANY(@ids)</c>; Dapper passes arrays to
    /// Npgsql as they are). SQLite: Dapper expands <c>IN @ids</c> into one parameter per id.
    /// </param>
    public static ArchiveFilter Build(string host, string store, string? user, ArchiveQuery query, bool arrayIds)
    {
        var filter = new ArchiveFilter(host, store, user ?? "");
        if (query.Start is { } start) filter.Add(""" AND "when">=@start""", "start", start);
        if (query.End is { } end) filter.Add(""" AND "when"<=@end""", "end", end);
        if (query.With is { } with) filter.Add(""" AND "with"=@with""", "with", with);
        if (query.Ids is { } ids) filter.Add(arrayIds ? """ AND "key" = ANY(@ids)""" : """ AND "key" IN @ids""", "ids", ids.ToArray());
        return filter;
    }

    /// <summary>Appends a fixed condition (starting with " AND ") and its one parameter.</summary>
    public void Add(string condition, string name, object value)
    {
        _where.Append(condition);
        Parameters.Add(name, value);
    }

    /// <summary>Appends a fixed condition (starting with " AND ") whose parameters were added already.</summary>
    public void Add(string condition) => _where.Append(condition);

    /// <summary>Items after the one with this sort_id (exclusive).</summary>
    public void After(long sortId) => Add(""" AND "sort_id">@afterId""", "afterId", sortId);

    /// <summary>Items before the one with this sort_id (exclusive).</summary>
    public void Before(long sortId) => Add(""" AND "sort_id"<@beforeId""", "beforeId", sortId);

    public static string OrderBy(bool reverse) => reverse ? """ ORDER BY "sort_id" DESC""" : """ ORDER BY "sort_id" ASC""";

    /// <summary>The lookup of an item's sort_id by key, in the same user's archive.</summary>
    public object KeyLookup(string key) => new { key, host = Host, user = User, store = Store };
}
