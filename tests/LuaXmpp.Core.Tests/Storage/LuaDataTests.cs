using System.Diagnostics;
using System.Text;
using LuaXmpp.Storage;
using LuaXmpp.Storage.Internal;

namespace LuaXmpp.Tests.Storage;

/// <summary>
/// The "internal" driver's Lua data reader and writer: round trips, Prosody's own serializer
/// (util.serialization under lua5.4) reading what we write and writing what we read, every
/// truncation of a file, and files that are not data.
/// </summary>
public sealed class LuaDataTests
{
    private static DataTable Sample() => new()
    {
        [false] = new DataTable { ["version"] = 3L, ["pending"] = new DataTable() },
        ["bob@example.net"] = new DataTable
        {
            ["subscription"] = "both",
            ["name"] = "Bob \"the\" 'builder'\n\t\\ é 🎉 \u0001\u007f",
            ["groups"] = new DataTable { ["Friends"] = true },
        },
        ["int"] = 42L,
        ["max"] = long.MaxValue,
        ["float"] = 1733567890.1234567,
        ["tiny"] = 1e-300,
        ["inf"] = double.PositiveInfinity,
        ["-inf"] = double.NegativeInfinity,
        ["list"] = new DataTable { [1L] = "a", [2L] = "b", [3L] = 3L },
        ["mixed"] = new DataTable { [1L] = "first", ["k"] = "v", [10L] = "ten", [true] = "t", [2.5] = "half" },
        ["return"] = "a keyword as a key",
        [""] = "empty key",
        [7L] = "seven",
    };

    [Fact]
    public void WriteThenRead_GivesTheSameValues()
    {
        var text = LuaDataWriter.Return(Sample());

        var back = LuaDataReader.ReadReturn(Encoding.UTF8.GetBytes(text));

        AssertSame(Sample(), back);
        Assert.True(text.All(c => c < 128), "the file is ASCII, as util.serialization writes it");
    }

    [Fact]
    public void WriteThenRead_KeepsIntegralFloatsAndTheSmallestInteger()
    {
        var data = new DataTable { ["f"] = 3.0, ["min"] = long.MinValue, ["nan"] = double.NaN };

        var back = LuaDataReader.ReadReturn(Encoding.UTF8.GetBytes(LuaDataWriter.Return(data)));

        AssertSame(data, back);
    }

    [Fact]
    public void Writer_UsesProsodysLayout()
    {
        var text = LuaDataWriter.Return(new DataTable
        {
            ["salt"] = "s",
            ["iteration_count"] = 10000L,
            ["t"] = new DataTable { [1L] = "x", ["é"] = 0.5 },
        });

        Assert.Equal("return {\n\t[\"iteration_count\"] = 10000;\n\t[\"salt\"] = \"s\";\n\t[\"t\"] = {\n\t\t\"x\";\n\t\t[\"\\195\\169\"] = 0.5;\n\t};\n};\n", text);
    }

    [Fact]
    public void ProsodysSerializer_ReadsWhatWeWrite_AndWeReadWhatItWrites()
    {
        using var dir = new TempDirectory();
        var ours = Path.Combine(dir.Path, "ours.dat");
        File.WriteAllText(ours, LuaDataWriter.Return(Sample()));

        // Prosody's datamanager loads the file with an empty environment; util.serialization writes it again.
        var theirs = RunLua("""
            package.path = "/usr/lib/prosody/?.lua;" .. package.path
            local serialize = require "util.serialization".serialize
            local f = assert(io.open(arg[1], "rb")); local text = f:read("a"); f:close()
            local data = assert(load(text, "=data", "t", {}))()
            io.write("return ", serialize(data), ";\n")
            """, ours);

        AssertSame(Sample(), LuaDataReader.ReadReturn(Encoding.UTF8.GetBytes(theirs)));
    }

    [Fact]
    public void EveryTruncation_OfADatFile_IsRefusedOrComplete()
    {
        var bytes = Encoding.UTF8.GetBytes(LuaDataWriter.Return(Sample()));
        int complete = 0;
        for (int cut = 0; cut < bytes.Length; cut++)
        {
            object? value;
            try
            {
                value = LuaDataReader.ReadReturn(bytes[..cut]);
            }
            catch (FormatException)
            {
                continue;
            }
            // Only an empty file (no data) or one missing just its final ";" / "\n" reads, and then it reads whole.
            if (cut == 0) Assert.Null(value);
            else
            {
                AssertSame(Sample(), value);
                complete++;
            }
        }
        Assert.Equal(2, complete);
    }

    [Fact]
    public void EveryTruncation_OfAListFile_KeepsTheWholeItemsBeforeIt()
    {
        var items = Enumerable.Range(1, 4).Select(i => new DataTable { ["key"] = "k" + i, ["when"] = (long)i, ["name"] = "message", [1L] = "é" + i }).ToList();
        var text = string.Concat(items.Select(LuaDataWriter.Item));
        var bytes = Encoding.UTF8.GetBytes(text);
        var ends = new List<int>();
        for (int i = 0, pos = 0; i < items.Count; i++) ends.Add(pos += Encoding.UTF8.GetByteCount(LuaDataWriter.Item(items[i])));

        for (int cut = 0; cut <= bytes.Length; cut++)
        {
            var reader = new LuaDataReader(bytes[..cut]);
            var read = new List<object?>();
            try
            {
                while (reader.TryReadItem(out var value, out _, out _)) read.Add(value);
            }
            catch (TruncatedDataException)
            {
                // The torn item is dropped; everything before it was read.
            }
            // An item is whole once its closing ')' is there; the ";\n" after it is optional.
            int whole = ends.Count(e => e - 2 <= cut);
            Assert.True(read.Count == whole, $"cut at {cut}: read {read.Count} items, expected {whole}");
            for (int i = 0; i < read.Count; i++) AssertSame(items[i], read[i]);
        }
    }

    [Fact]
    public void Reader_AcceptsEveryLuaStringForm()
    {
        var text = "return { \"\\65\\x42\\u{43}\\u{1F389}\\z   \n   D\\\nE\\a\\b\\f\\v\\r\", 'single \"quoted\"', [[\nlong ]] .. \"\" }";
        Assert.Throws<FormatException>(() => LuaDataReader.ReadReturn(Encoding.UTF8.GetBytes(text))); // ".." is an operator, not data

        var table = Assert.IsType<DataTable>(LuaDataReader.ReadReturn(Encoding.UTF8.GetBytes(
            "-- a comment\nreturn { \"\\65\\x42\\u{43}\\u{1F389}\\z   \n   D\\\nE\\a\\b\\f\\v\\r\", 'single \"quoted\"', [[\nlong]], [==[a]]b]==], 0x10, -0x1, 1e2, .5, (1/0), (-1/0), nil, x = 1, [\"y\"] = 2; }")));

        Assert.Equal("ABC🎉D\nE\a\b\f\v\r", table[1L]);
        Assert.Equal("single \"quoted\"", table[2L]);
        Assert.Equal("long", table[3L]);
        Assert.Equal("a]]b", table[4L]);
        Assert.Equal(16L, table[5L]);
        Assert.Equal(-1L, table[6L]);
        Assert.Equal(100.0, table[7L]);
        Assert.Equal(0.5, table[8L]);
        Assert.Equal(double.PositiveInfinity, table[9L]);
        Assert.Equal(double.NegativeInfinity, table[10L]);
        Assert.False(table.ContainsKey(11L));
        Assert.Equal(1L, table["x"]);
        Assert.Equal(2L, table["y"]);
    }

    [Theory]
    [InlineData("return os.execute(\"touch /tmp/luaxmpp-pwned\")")]
    [InlineData("return (function() return 1 end)()")]
    [InlineData("return { a = io.open(\"/etc/passwd\") }")]
    [InlineData("return setmetatable({}, {})")]
    [InlineData("return 1 + 1")]
    [InlineData("return \"a\" .. \"b\"")]
    [InlineData("return { [{}] = 1 }")]
    [InlineData("return { x = y }")]
    [InlineData("os.exit(1) return {}")]
    [InlineData("return {}; os.exit(1)")]
    [InlineData("return { [nil] = 1 }")]
    [InlineData("return { [(0/0)] = 1 }")]
    [InlineData("return \"\\300\"")]
    [InlineData("return \"line\nbreak\"")]
    [InlineData("return 0x1p4")]
    [InlineData("return { 1 2 }")]
    [InlineData("\u001bLua binary chunk")]
    public void Reader_RefusesCodeAndMalformedData(string text)
    {
        Assert.Throws<FormatException>(() => LuaDataReader.ReadReturn(Encoding.UTF8.GetBytes(text)));
    }

    [Theory]
    [InlineData("item(os.exit(1));\n")]
    [InlineData("item({});\nprint(1);\n")]
    [InlineData("item({}) item = nil\n")]
    public void ListReader_RefusesCode(string text)
    {
        var reader = new LuaDataReader(Encoding.UTF8.GetBytes(text));
        Assert.Throws<FormatException>(() =>
        {
            while (reader.TryReadItem(out _, out _, out _))
            {
            }
        });
    }

    [Fact]
    public void Reader_RefusesDeepNesting_WithoutOverflowingTheStack()
    {
        var deep = "return " + new string('{', 100_000) + new string('}', 100_000);

        var error = Assert.Throws<FormatException>(() => LuaDataReader.ReadReturn(Encoding.ASCII.GetBytes(deep)));

        Assert.Contains("nested deeper", error.Message);
        Assert.NotNull(LuaDataReader.ReadReturn(Encoding.ASCII.GetBytes("return " + new string('{', 150) + new string('}', 150))));
    }

    [Fact]
    public void Writer_RefusesDeepNesting()
    {
        var table = new DataTable();
        var inner = table;
        for (int i = 0; i < 300; i++) inner = (DataTable)(inner["t"] = new DataTable { ["x"] = 1L });

        Assert.Throws<ArgumentException>(() => LuaDataWriter.Return(table));
    }

    [Fact]
    public void FormatG18_MatchesCsPrintf()
    {
        Assert.Equal("0.100000000000000006", LuaDataWriter.FormatG18(0.1));
        Assert.Equal("1.00000000000000005e+300", LuaDataWriter.FormatG18(1e300));
        Assert.Equal("1733567890.12345672", LuaDataWriter.FormatG18(1733567890.1234567));
        Assert.Equal("-2.5", LuaDataWriter.FormatG18(-2.5));
        Assert.Equal("1.00000000000000008e-05", LuaDataWriter.FormatG18(1e-5));
    }

    [Fact]
    public void PathEncoding_IsDatamanagers()
    {
        Assert.Equal("example%2ecom", DataPathLayout.Encode("example.com", keepUnderscore: false));
        Assert.Equal("user%5fname%40x", DataPathLayout.Encode("user_name@x", keepUnderscore: false));
        Assert.Equal("muc_log%2dx", DataPathLayout.Encode("muc_log-x", keepUnderscore: true));
        Assert.Equal("%c3%a9", DataPathLayout.Encode("é", keepUnderscore: false));
        Assert.Equal("é.x_y", DataPathLayout.Decode("%c3%a9%2ex_y"));
    }

    internal static string RunLua(string script, params string[] args)
    {
        var psi = new ProcessStartInfo("lua5.4") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-e");
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add("-");
        foreach (var a in args) psi.ArgumentList.Add(a);
        // "lua -e SCRIPT - ARGS" would read stdin as the script; give it an empty one.
        psi.RedirectStandardInput = true;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("lua5.4 did not start (apt-get install lua5.4)");
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(30_000), "lua5.4 did not finish");
        Assert.True(p.ExitCode == 0, "lua5.4 failed: " + stderr);
        return stdout.Result;
    }

    /// <summary>Deep equality of stored values (NaN equal to NaN).</summary>
    internal static void AssertSame(object? expected, object? actual, string path = "")
    {
        switch (expected)
        {
            case DataTable e:
                var a = Assert.IsType<DataTable>(actual);
                Assert.True(e.Count == a.Count, $"{path}: {e.Count} keys expected, {a.Count} found");
                foreach (var (k, v) in e) AssertSame(v, a.GetValueOrDefault(LuaNumber.NormalizeKey(k)), path + "/" + k);
                break;
            case double d when double.IsNaN(d):
                Assert.True(actual is double x && double.IsNaN(x), path);
                break;
            default:
                Assert.True(Equals(expected, actual), $"{path}: expected {expected} ({expected?.GetType().Name}), found {actual} ({actual?.GetType().Name})");
                break;
        }
    }
}
