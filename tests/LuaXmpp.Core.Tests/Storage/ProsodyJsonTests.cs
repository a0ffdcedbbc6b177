using LuaXmpp.Storage;

namespace LuaXmpp.Tests.Storage;

/// <summary>Expected texts are what Prosody 0.12's util.json produces for the same Lua tables.</summary>
public sealed class ProsodyJsonTests
{
    [Theory]
    [InlineData(42L, "42")]
    [InlineData(1.5, "1.5")]
    [InlineData(3.0, "3.0")]
    [InlineData(1e20, "1e+20")]
    [InlineData(0.1, "0.1")]
    [InlineData(1.0 / 3, "0.33333333333333")]
    [InlineData(1e-5, "1e-05")]
    [InlineData(-2.5, "-2.5")]
    public void Encode_Numbers_AsLuaTostring(object value, string expected)
    {
        Assert.Equal(expected, ProsodyJson.Encode(value));
    }

    [Fact]
    public void Encode_Strings_EscapeLikeUtilJson()
    {
        Assert.Equal("\"a\\\"b\\\\c\\n\\t\\u0001/é\"", ProsodyJson.Encode("a\"b\\c\n\t\u0001/é"));
    }

    [Fact]
    public void Encode_PureSequence_IsJsonArray()
    {
        Assert.Equal("[\"a\",2,true]", ProsodyJson.Encode(new DataTable { [1L] = "a", [2L] = 2L, [3L] = true }));
    }

    [Fact]
    public void Encode_EmptyTable_IsEmptyObject()
    {
        Assert.Equal("{}", ProsodyJson.Encode(new DataTable()));
    }

    [Fact]
    public void Encode_NonStringKeys_GoUnderHash()
    {
        Assert.Equal("{\"__hash\":[false,{\"version\":3}]}", ProsodyJson.Encode(new DataTable { [false] = new DataTable { ["version"] = 3L } }));
    }

    [Fact]
    public void Encode_MixedTable_UsesHashAndArrayMembers()
    {
        var t = new DataTable { ["k"] = "v", [1L] = "one", [2L] = "two", [5L] = "five" };

        Assert.Equal("{\"k\":\"v\",\"__hash\":[5,\"five\"],\"__array\":[\"one\",\"two\"]}", ProsodyJson.Encode(t));
    }

    [Fact]
    public void Decode_ProsodysHashAndArrayMembers_RestoreKeys()
    {
        var t = Assert.IsType<DataTable>(ProsodyJson.Decode("{\"k\":\"v\", \"__array\":[\"one\",\"two\"], \"__hash\":[5,\"five\",true,1.0]}"));

        Assert.Equal(5, t.Count);
        Assert.Equal("one", t[1L]);
        Assert.Equal("two", t[2L]);
        Assert.Equal("five", t[5L]);
        Assert.Equal(1.0, t[true]);
        Assert.Equal("v", t["k"]);
    }

    [Fact]
    public void Decode_EscapesAndSurrogatePairs()
    {
        Assert.Equal("a\"/\n\u00e9\U0001F600", ProsodyJson.Decode("\"a\\\"\\/\\n\\u00e9\\ud83d\\ude00\""));
    }

    [Fact]
    public void Decode_NumbersKeepIntegerOrFloat()
    {
        var t = Assert.IsType<DataTable>(ProsodyJson.Decode("[1, 1.0, -3, 2e3, 12345678901234]"));

        Assert.Equal([1L, 1.0, -3L, 2000.0, 12345678901234L], t.Values);
    }

    [Fact]
    public void Decode_Garbage_Throws()
    {
        Assert.Throws<FormatException>(() => ProsodyJson.Decode("{\"a\":1} x"));
        Assert.Throws<FormatException>(() => ProsodyJson.Decode("{\"a\" 1}"));
        Assert.Throws<FormatException>(() => ProsodyJson.Decode("[1,]"));
    }

    [Fact]
    public void EncodeDecode_NestedRoundTrip()
    {
        var t = new DataTable
        {
            ["nested"] = new DataTable { [false] = new DataTable { [1L] = 1L }, ["x"] = null },
            [true] = "t",
            [3L] = 1.25,
        };

        var back = Assert.IsType<DataTable>(ProsodyJson.Decode(ProsodyJson.Encode(t)));

        Assert.Equal(ProsodyJson.Encode(t), ProsodyJson.Encode(back));
        Assert.Equal(1L, back.GetTable("nested")!.GetTable(false)![1L]);
        Assert.Equal(1.25, back[3L]);
    }
}
