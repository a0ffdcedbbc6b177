using LuaXmpp.Xmpp;

namespace LuaXmpp.Tests.Xmpp;

public sealed class JidTests
{
    private static readonly string Long1023 = new('a', 1023);
    private static readonly string Long1024 = new('a', 1024);

    [Theory]
    [InlineData("example.com", null, "example.com", null)]
    [InlineData("juliet@example.com", "juliet", "example.com", null)]
    [InlineData("juliet@example.com/balcony", "juliet", "example.com", "balcony")]
    [InlineData("example.com/balcony", null, "example.com", "balcony")]
    [InlineData("juliet@example.com/a@b/c", "juliet", "example.com", "a@b/c")]
    [InlineData("example.com/juliet@example.com", null, "example.com", "juliet@example.com")]
    [InlineData("juliet@example.com/ bal cony ", "juliet", "example.com", " bal cony ")]
    [InlineData("juliet@example.com.", "juliet", "example.com", null)]
    [InlineData("127.0.0.1", null, "127.0.0.1", null)]
    [InlineData("juliet@[::1]/r", "juliet", "[::1]", "r")]
    [InlineData("x@[2001:DB8::1]", "x", "[2001:db8::1]", null)]
    [InlineData("a_b.example.com", null, "a_b.example.com", null)]
    [InlineData("xn--bcher-kva.example", null, "xn--bcher-kva.example", null)]
    [InlineData("bücher.example", null, "bücher.example", null)]
    public void TryParse_SplitsParts_WhenValid(string text, string? node, string domain, string? resource)
    {
        Assert.True(Jid.TryParse(text, out var jid));
        Assert.Equal(node, jid.Node);
        Assert.Equal(domain, jid.Domain);
        Assert.Equal(resource, jid.Resource);
    }

    [Theory]
    [InlineData("Juliet@Example.COM/Balcony", "juliet@example.com/Balcony")]
    [InlineData("STRASSE@example.com", "strasse@example.com")]
    [InlineData("straße@example.com", "strasse@example.com")]
    [InlineData("ΣΑΣ@example.com", "σασ@example.com")]
    [InlineData("σας@example.com", "σασ@example.com")]
    [InlineData("ｊｕｌｉｅｔ@ｅｘａｍｐｌｅ.ｃｏｍ/ｒ", "juliet@example.com/r")]
    [InlineData("ju\u00ADliet@example.com", "juliet@example.com")]
    [InlineData("juliet@EXAMPLE。com", "juliet@example.com")]
    [InlineData("café@example.com", "café@example.com")]
    [InlineData("cafe\u0301@example.com", "café@example.com")]
    [InlineData("℃@example.com", "°c@example.com")]
    [InlineData("example.com/ﬁ", "example.com/fi")]
    [InlineData("example.com/a\u3000b", "example.com/a b")] // NFKC turns the ideographic space into U+0020
    public void TryParse_Normalizes_Parts(string text, string expected)
    {
        Assert.True(Jid.TryParse(text, out var jid));
        Assert.Equal(expected, jid.ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("@example.com")]
    [InlineData("juliet@")]
    [InlineData("juliet@/r")]
    [InlineData("example.com/")]
    [InlineData("/r")]
    [InlineData("a@b@example.com")]
    [InlineData(".")]
    [InlineData("juliet@example..com")]
    [InlineData("juliet@.example.com")]
    [InlineData("juliet@-example.com")]
    [InlineData("juliet@example-.com")]
    [InlineData("juliet@exa mple.com")]
    [InlineData("juliet@exa!mple.com")]
    [InlineData("juliet@exa\u0001mple.com")]
    [InlineData("juliet@xn--a.example")]
    [InlineData("juliet@[::1")]
    [InlineData("juliet@[example.com]")]
    [InlineData("juliet@[127.0.0.1]")]
    [InlineData("jul iet@example.com")]
    [InlineData("jul\"iet@example.com")]
    [InlineData("jul&iet@example.com")]
    [InlineData("jul'iet@example.com")]
    [InlineData("jul:iet@example.com")]
    [InlineData("jul<iet@example.com")]
    [InlineData("jul>iet@example.com")]
    [InlineData("jul\u00A0iet@example.com")]
    [InlineData("jul\u0007iet@example.com")]
    [InlineData("jul\uE000iet@example.com")]
    [InlineData("jul\u200Eiet@example.com")]
    [InlineData("jul\uFFFDiet@example.com")]
    [InlineData("example.com/r\u0000")]
    [InlineData("example.com/r\u0085")]
    [InlineData("example.com/\uD800")]
    [InlineData("\u00AD@example.com")]
    public void TryParse_Fails_WhenInvalid(string? text)
    {
        Assert.False(Jid.TryParse(text, out _));
    }

    [Theory]
    [InlineData("\u05D0\u05D1@example.com", true)] // all RandAL
    [InlineData("\u05D0a\u05D1@example.com", false)] // RandAL mixed with L
    [InlineData("\u05D01@example.com", false)] // RandAL string must end with RandAL
    [InlineData("1\u05D0@example.com", false)] // … and start with one
    [InlineData("\u05D01\u05D1@example.com", true)] // digits (EN) inside are fine
    [InlineData("example.com/\u0627b", false)]
    [InlineData("\u0627\u0644\u0639\u0631\u0628\u064A\u0629.example", false)] // one domain, mixed labels: bidi is checked on the whole part
    public void TryParse_AppliesBidiRule(string text, bool valid)
    {
        Assert.Equal(valid, Jid.TryParse(text, out _));
    }

    [Fact]
    public void TryParse_AcceptsParts_Of1023Bytes()
    {
        Assert.True(Jid.TryParse($"{Long1023}@example.com/{Long1023}", out _));
        Assert.True(Jid.TryParse(string.Concat(Enumerable.Repeat("a.", 511)) + "a", out _));
        Assert.True(Jid.TryParse(new string('é', 511) + "a@example.com", out _)); // 1023 bytes of UTF-8
    }

    [Theory]
    [InlineData("node")]
    [InlineData("resource")]
    [InlineData("domain")]
    [InlineData("utf8node")]
    public void TryParse_RejectsParts_Of1024Bytes(string part)
    {
        var domain1024 = string.Concat(Enumerable.Repeat("a.", 511)) + "ab";
        var text = part switch
        {
            "node" => $"{Long1024}@example.com",
            "resource" => $"example.com/{Long1024}",
            "domain" => domain1024,
            _ => new string('é', 512) + "@example.com",
        };

        Assert.False(Jid.TryParse(text, out _));
    }

    [Fact]
    public void TryParse_RejectsDomainLabel_Over63Octets()
    {
        Assert.True(Jid.TryParse(new string('a', 63) + ".example", out _));
        Assert.False(Jid.TryParse(new string('a', 64) + ".example", out _));
    }

    [Fact]
    public void Equality_HoldsAfterPreparation()
    {
        var a = Jid.Parse("Juliet@Example.com/Balcony");
        var b = Jid.Parse("juliet@EXAMPLE.COM/Balcony");
        var c = Jid.Parse("juliet@example.com/balcony");

        Assert.Equal(a, b);
        Assert.True(a == b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, c); // resources keep their case
        Assert.True(a != c);
        Assert.Single(new HashSet<Jid> { a, b });
    }

    [Fact]
    public void Bare_DropsResource()
    {
        var full = Jid.Parse("juliet@example.com/balcony");

        Assert.True(full.IsFull);
        Assert.Equal(Jid.Parse("juliet@example.com"), full.Bare);
        Assert.True(full.Bare.IsBare);
        var bare = full.Bare;
        Assert.Same(bare, bare.Bare);
    }

    [Fact]
    public void WithResource_PreparesResource()
    {
        var bare = Jid.Parse("juliet@example.com");

        Assert.Equal("juliet@example.com/ｒ".Normalize(System.Text.NormalizationForm.FormKC), bare.WithResource("ｒ").ToString());
        Assert.Equal(bare, bare.WithResource("x").WithResource(null));
        Assert.Throws<FormatException>(() => bare.WithResource("bad\u0000"));
    }

    [Fact]
    public void Create_ReturnsNull_WhenAPartIsInvalid()
    {
        Assert.Equal("juliet@example.com/r", Jid.Create("Juliet", "Example.com", "r")?.ToString());
        Assert.Null(Jid.Create("", "example.com"));
        Assert.Null(Jid.Create("a@b", "example.com"));
        Assert.Null(Jid.Create("juliet", "exa mple.com"));
        Assert.Null(Jid.Create("juliet", "example.com", ""));
    }

    [Fact]
    public void Parse_Throws_WhenInvalid()
    {
        Assert.Throws<FormatException>(() => Jid.Parse("@example.com"));
    }
}
