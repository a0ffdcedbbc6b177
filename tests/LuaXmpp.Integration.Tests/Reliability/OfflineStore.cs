using System.Text.RegularExpressions;
using Dapper;
using LuaXmpp.Tests.Fixtures;
using Microsoft.Data.Sqlite;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// Reads a user's offline store straight from the server's files, without logging in (which would
/// deliver and delete it): LuaXmpp's SQLite file (prosodyarchive, store 'offline'), or, when the
/// fixture runs Prosody 0.12.3 (LUAXMPP_ITEST_SERVER=prosody, internal storage), its list file
/// data/&lt;host&gt;/offline/&lt;user&gt;.list, one <c>item(…);</c> line per message.
/// </summary>
public static partial class OfflineStore
{
    // A Lua string literal as util.serialization writes it ("…" with backslash escapes).
    [GeneratedRegex("\"((?:[^\"\\\\]|\\\\.)*)\"")]
    private static partial Regex LuaString();

    /// <summary>
    /// The body of every stored message, in storage order. From Prosody's list file these are all
    /// the string literals of each item, so callers match the bodies they sent (a prefix, a number).
    /// </summary>
    public static List<string> Texts(ServerProcess server, string user)
    {
        if (server.Flavor.IsProsody) return ProsodyTexts(server, user);
        SQLitePCL.Batteries_V2.Init();
        var file = Path.Combine(server.DataPath, "prosody.sqlite");
        using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
        db.Open();
        db.Execute("PRAGMA busy_timeout=5000;");
        return db.Query<string>("""SELECT "value" FROM "prosodyarchive" WHERE "store"='offline' AND "user"=@user ORDER BY "sort_id" """, new { user })
            .Select(v => XmppSocketClient.Parse(v).Element(XmppSocketClient.Client + "body")?.Value)
            .OfType<string>().ToList();
    }

    private static List<string> ProsodyTexts(ServerProcess server, string user)
    {
        var file = Path.Combine(server.DataPath, server.Host, "offline", user + ".list");
        if (!File.Exists(file)) return [];
        string text;
        try
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            text = new StreamReader(stream).ReadToEnd();
        }
        catch (IOException)
        {
            return [];
        }
        return LuaString().Matches(text).Select(m => m.Groups[1].Value).ToList();
    }
}
