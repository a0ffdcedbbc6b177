using System.Diagnostics;
using LuaXmpp.Archive;
using LuaXmpp.Storage;
using LuaXmpp.Xml;

namespace LuaXmpp.Bench.Mam;

/// <summary>
/// XEP-0431 search on a large archive (SQLite FTS5, or PostgreSQL with --postgres): fill rate with the full-text side table, then
/// page queries as mod_mam asks them (51 items backwards with the total) for a rare word, a
/// middling one, a common one, a prefix and a phrase, in one user's big archive and in small ones.
/// </summary>
/// <remarks>
/// Bodies are 4-16 words drawn from a 20 000-word vocabulary with a Zipf-like distribution
/// (word k chosen with weight 1/k), so frequencies resemble chat text: the most common word is
/// in about a third of the messages, the rarest in a handful.
/// </remarks>
internal static class FullTextBench
{
    private const string Host = "localhost";
    private const int Vocabulary = 20_000;

    /// <summary>Search pages per query and archive size, in each pass (bounded: a slow pass on a busy machine must end).</summary>
    private const int Repeats = 50;

    private static readonly string[] Words = MakeWords();

    private static string[] MakeWords()
    {
        string[] syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "be", "da", "fu", "go", "hi", "ja", "pe", "zo", "an", "el", "or", "us"];
        var words = new string[Vocabulary];
        for (int i = 0; i < Vocabulary; i++)
        {
            int n = i;
            var w = "";
            do
            {
                w += syllables[n % syllables.Length];
                n /= syllables.Length;
            }
            while (n > 0);
            words[i] = w + (i % 7 == 0 ? "s" : "");
        }
        return words;
    }

    /// <summary>Zipf-like: the cumulative weights of 1/k, searched by binary search.</summary>
    private sealed class Zipf
    {
        private readonly double[] _cumulative = new double[Vocabulary];
        private readonly Random _random;

        public Zipf(int seed)
        {
            _random = new Random(seed);
            double sum = 0;
            for (int k = 0; k < Vocabulary; k++) _cumulative[k] = sum += 1.0 / (k + 1);
        }

        public string Next()
        {
            double x = _random.NextDouble() * _cumulative[^1];
            int i = Array.BinarySearch(_cumulative, x);
            return Words[Math.Min(i < 0 ? ~i : i, Vocabulary - 1)];
        }

        public int Length() => 4 + _random.Next(13);
    }

    private static XmlElement Message(string body)
    {
        var m = new XmlElement("message", "jabber:client");
        m["to"] = "peer@localhost";
        m["from"] = "sender@localhost/phone";
        m["type"] = "chat";
        m.AddTextChild("body", body);
        m.AddChild("request", "urn:xmpp:receipts");
        return m;
    }

    public static async Task RunAsync(string dir, int bigCount, int spreadCount, int spreadUsers)
    {
        using var storage = WriterBench.OpenStorage(dir);
        await using var service = new ArchiveService(storage.OpenArchive(Host, "archive"), new ArchiveOptions(), TimeProvider.System);
        var zipf = new Zipf(11);
        string lastBody = "";

        async Task<double> Fill(int count, Func<int, string> user)
        {
            var clock = Stopwatch.StartNew();
            var pending = new Queue<Task>();
            for (int i = 0; i < count; i++)
            {
                lastBody = string.Join(' ', Enumerable.Range(0, zipf.Length()).Select(_ => zipf.Next()));
                var r = service.Append(user(i), Message(lastBody), 1_700_000_000 + i / 100, "peer@localhost");
                if (i % 1000 == 999)
                {
                    pending.Enqueue(r.Committed);
                    if (pending.Count >= 20) await pending.Dequeue();
                }
            }
            await service.FlushAsync();
            return count / clock.Elapsed.TotalSeconds;
        }

        Console.WriteLine($"== Full text: {bigCount:N0} messages for one user, {spreadCount:N0} over {spreadUsers:N0} users ({Vocabulary:N0}-word Zipf vocabulary)");
        Console.WriteLine($"fill, one user: {await Fill(bigCount, _ => "big"):N0} archived msg/s (with the FTS5 side table)");
        var lastWords = lastBody.Split(' '); // the phrase searched for is in the big archive
        Console.WriteLine($"fill, spread:   {await Fill(spreadCount, i => "u" + (i % spreadUsers)):N0} archived msg/s");
        var file = new FileInfo(Path.Combine(dir, "prosody.sqlite"));
        if (file.Exists) Console.WriteLine($"database file: {file.Length / 1e6:N0} MB (+ WAL)");
        await BenchDatabase.AnalyzeAsync("luaxmpp");

        var queries = new (string Name, string Text)[]
        {
            ("rare word", Words[Vocabulary - 3]),
            ("middling word", Words[300]),
            ("common word", Words[1]),
            ("two words", Words[5] + " " + Words[40]),
            ("prefix", Words[25][..3] + "*"),
            ("phrase", "\"" + lastWords[0] + " " + lastWords[1] + "\""),
        };
        // Before and after the bounded count, on the same data: a second service over the same
        // store that counts every match (FullTextCountLimit = 0), as every search page did before.
        await using var unbounded = new ArchiveService(storage.OpenArchive(Host, "archive"), new ArchiveOptions { FullTextCountLimit = 0 }, TimeProvider.System);
        foreach (var (label, s) in new[] { ("total counted in full (before)", unbounded), ($"total counted up to {service.Options.FullTextCountLimit:N0} (after)", service) })
        {
            Console.WriteLine($"-- {label}");
            var random = new Random(5);
            foreach (var (name, text) in queries)
            {
                var query = FullTextQuery.Parse(text, out var error) ?? throw new InvalidOperationException(error);
                var big = new Latencies();
                var small = new Latencies();
                long? bigTotal = 0;
                for (int i = 0; i < Repeats; i++)
                {
                    var clock = Stopwatch.StartNew();
                    var page = await s.QueryAsync("big", new ArchiveQuery { FullText = query, Reverse = true, Limit = 51, WantTotal = true });
                    big.Add(clock.Elapsed);
                    bigTotal = page.Total;
                    clock.Restart();
                    await s.QueryAsync("u" + random.Next(spreadUsers), new ArchiveQuery { FullText = query, Reverse = true, Limit = 51, WantTotal = true });
                    small.Add(clock.Elapsed);
                }
                string matches = bigTotal is { } t ? $"{t:N0} matches" : "total left out";
                Console.WriteLine($"{name,-14} {text,-22} big archive ({matches}): {big}; small archives: {small}");
            }
        }
    }
}
