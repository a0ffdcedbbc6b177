using LuaXmpp.Storage;
using LuaXmpp.Storage.Sql;
using Microsoft.Data.Sqlite;

namespace LuaXmpp.Tests.Storage;

/// <summary>XEP-0431 field text → terms, and the FTS5 expression built from them, against a real FTS5 table.</summary>
public sealed class FullTextQueryTests : IDisposable
{
    /// <summary>Texts a client could send by mistake or on purpose: operators, column filters, quotes, marks, emoji, nothing.</summary>
    public static readonly string[] Hostile =
    [
        "hello \"brown fox\" qu* world",
        "NEAR(a b, 3) OR c AND NOT d -e +f ^g",
        "body:secret owner : x {owner body}: y",
        "\"unbalanced quote",
        "a\"b\"c\"",
        "'); DROP TABLE prosodyarchive; --",
        "* ** \"*\" fo* \"ph ra\"* x*y",
        "café Ñandú ÉCOLE 東京 😀 x\u0301 \u0301",
        "(((( )))) [] {} :: \\ \\\" \0 %",
    ];

    private readonly SqliteConnection _fts;

    public FullTextQueryTests()
    {
        SQLitePCL.Batteries_V2.Init();
        _fts = new SqliteConnection("Data Source=:memory:");
        _fts.Open();
        using var create = _fts.CreateCommand();
        create.CommandText = """
            CREATE VIRTUAL TABLE "luaxmpp_archive_fts" USING fts5("owner", "body", tokenize = 'unicode61 remove_diacritics 2');
            INSERT INTO "luaxmpp_archive_fts" ("rowid", "owner", "body") VALUES
              (1, 'oabc', 'Hello world, the quick brown fox'),
              (2, 'oabc', 'Café au lait at the ÉCOLE'),
              (3, 'oother', 'hello world'),
              (4, 'oabc', 'brown quick fox');
            """;
        create.ExecuteNonQuery();
    }

    public void Dispose() => _fts.Dispose();

    private static FullTextQuery Parsed(string text) =>
        FullTextQuery.Parse(text, out var error) ?? throw new Xunit.Sdk.XunitException($"{text}: {error}");

    private static IEnumerable<(string[] Words, bool Prefix)> Terms(string text) =>
        Parsed(text).Terms.Select(t => (t.Words.ToArray(), t.Prefix));

    private long[] Search(FullTextQuery query, string owner = "oabc")
    {
        using var cmd = _fts.CreateCommand();
        cmd.CommandText = """SELECT "rowid" FROM "luaxmpp_archive_fts" WHERE "luaxmpp_archive_fts" MATCH @q ORDER BY "rowid" """;
        cmd.Parameters.AddWithValue("@q", SqliteFullText.Match(query, owner));
        var ids = new List<long>();
        using var reader = cmd.ExecuteReader();
        while (reader.Read()) ids.Add(reader.GetInt64(0));
        return ids.ToArray();
    }

    [Fact]
    public void Words_PrefixesAndPhrases_AreTerms()
    {
        Assert.Equal([(["hello"], false), (["brown", "fox"], false), (["qu"], true), (["world"], false)], Terms("hello \"brown fox\" qu* world"));
    }

    [Fact]
    public void Operators_ColumnFilters_AndLoneQuotes_AreOnlySeparators()
    {
        Assert.Equal(["NEAR", "a", "b", "3", "OR", "c", "AND", "NOT", "d", "e", "f", "g"],
            Terms("NEAR(a b, 3) OR c AND NOT d -e +f ^g").Select(t => t.Words.Single()));
        Assert.Equal(["body", "secret", "owner", "x"], Terms("body:secret owner : x").Select(t => t.Words.Single()));
        Assert.Equal([(["unbalanced"], false), (["quote"], false)], Terms("\"unbalanced quote"));
        Assert.Equal([(["a"], false), (["b"], false), (["c"], false)], Terms("a\"b\"c\""));
    }

    [Fact]
    public void ShortPrefixes_AreWholeWords_AndStarsInsideAPhrase_Separate()
    {
        Assert.Equal([(["a"], false), (["fo"], true), (["x"], false), (["y"], false)], Terms("a* ** fo* x*y"));
        Assert.Equal([(["ph", "ra"], false)], Terms("\"ph* ra\"*"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("!!! --- \"\" ** ()")]
    [InlineData("\u0301 \u0301")]
    public void NothingToSearchFor_IsAnError(string text)
    {
        Assert.Null(FullTextQuery.Parse(text, out var error));
        Assert.Equal("fulltext: no words to search for", error);
    }

    [Fact]
    public void TooManyWords_OrAWordTooLong_IsAnError_AndALongTextIsNotReadToTheEnd()
    {
        string seventeen = string.Join(" ", Enumerable.Range(1, FullTextQuery.MaxWords + 1).Select(i => "w" + i));
        string tenKb = string.Concat(Enumerable.Repeat("word ", 2048));
        string longPhrase = "\"" + string.Concat(Enumerable.Repeat("x ", FullTextQuery.MaxWords + 1)) + "\"";

        Assert.NotNull(FullTextQuery.Parse(string.Join(" ", Enumerable.Range(1, FullTextQuery.MaxWords).Select(i => "w" + i)), out _));
        Assert.Null(FullTextQuery.Parse(seventeen, out var e1));
        Assert.Null(FullTextQuery.Parse(tenKb, out var e2));
        Assert.Null(FullTextQuery.Parse(longPhrase, out var e3));
        Assert.Null(FullTextQuery.Parse(new string('x', 10_240), out var e4));
        Assert.All(new[] { e1, e2, e3 }, e => Assert.Equal($"fulltext: too many words (at most {FullTextQuery.MaxWords})", e));
        Assert.Equal($"fulltext: a word longer than {FullTextQuery.MaxWordLength} characters", e4);
    }

    [Fact]
    public void Memory_Matches_WholeWords_Prefixes_Phrases_CaseAndAccents()
    {
        const string body = "Hello World, the quick Brown fox at the Café";

        Assert.True(Parsed("hello WORLD").Matches(body));
        Assert.True(Parsed("qui* \"BROWN fox\" cafe").Matches(body));
        Assert.False(Parsed("hell").Matches(body)); // whole words only
        Assert.False(Parsed("\"fox brown\"").Matches(body)); // a phrase keeps its order
        Assert.False(Parsed("hello missing").Matches(body)); // every term
    }

    [Fact]
    public void Fts5_FindsWords_Prefixes_Phrases_OnlyTheOwners()
    {
        Assert.Equal([1], Search(Parsed("HELLO")));
        Assert.Equal([3], Search(Parsed("hello"), "oother"));
        Assert.Equal([1, 4], Search(Parsed("qui* fox")));
        Assert.Equal([1], Search(Parsed("\"quick brown\"")));
        Assert.Equal([2], Search(Parsed("cafe école")));
        Assert.Empty(Search(Parsed("oabc"))); // the owner token is not a word of the body
    }

    /// <summary>Every text above and every split of it (each prefix, each suffix) parses or is refused, and FTS5 takes what parses.</summary>
    [Fact]
    public void EverySplitOfHostileText_ParsesOrIsRefused_AndFts5AcceptsTheExpression()
    {
        int searched = 0;
        foreach (var text in Hostile)
        {
            for (int k = 0; k <= text.Length; k++)
            {
                foreach (var part in new[] { text[..k], text[k..], text[..k] + "\"" + text[k..] })
                {
                    var query = FullTextQuery.Parse(part, out var error);
                    if (query is null)
                    {
                        Assert.StartsWith("fulltext: ", error);
                        continue;
                    }
                    Search(query); // throws on an FTS5 syntax error
                    searched++;
                }
            }
        }
        Assert.True(searched > 500, $"only {searched} texts searched");
    }
}
