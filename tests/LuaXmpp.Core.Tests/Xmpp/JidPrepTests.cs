using LuaXmpp.Xmpp;

namespace LuaXmpp.Tests.Xmpp;

public sealed class JidPrepTests
{
    [Theory]
    [InlineData("Juliet", "juliet")]
    [InlineData("Maße", "masse")]
    [InlineData("ΌΣΟΣ", "όσοσ")]
    [InlineData("İstanbul", "i\u0307stanbul")]
    [InlineData("ᾼ", "αι")] // iota subscript folds to a separate iota
    [InlineData("ǅ", "dž")]
    [InlineData("K", "k")] // Kelvin sign
    [InlineData("㎒", "mhz")] // NFKC then fold again
    public void Nodeprep_FoldsCase(string input, string expected)
    {
        Assert.Equal(expected, JidPrep.Nodeprep(input));
    }

    [Theory]
    [InlineData("Balcony", "Balcony")]
    [InlineData("a b", "a b")]
    [InlineData("Maße", "Maße")]
    [InlineData("x\u200By", "xy")]
    public void Resourceprep_KeepsCaseAndAsciiSpace(string input, string expected)
    {
        Assert.Equal(expected, JidPrep.Resourceprep(input));
    }

    [Theory]
    [InlineData("I\u00ADX", "IX")] // RFC 4013 §3 examples
    [InlineData("user", "user")]
    [InlineData("USER", "USER")]
    [InlineData("\u00AA", "a")]
    [InlineData("\u2168", "IX")]
    [InlineData("a\u00A0b", "a b")]
    public void Saslprep_MatchesRfc4013Examples(string input, string expected)
    {
        Assert.Equal(expected, JidPrep.Saslprep(input));
    }

    [Theory]
    [InlineData("\u0007")]
    [InlineData("\u0627\u0031")]
    public void Saslprep_Rejects_ProhibitedAndBidi(string input)
    {
        Assert.Null(JidPrep.Saslprep(input));
    }

    [Theory]
    [InlineData("a\u0221b")] // unassigned in Unicode 3.2
    [InlineData("a\u1D2Cb")] // assigned in 4.0; NFKC would map it to 'A'
    [InlineData("\U0001F600")]
    public void Strict_RejectsCodePointsUnassignedInUnicode32(string input)
    {
        Assert.Null(JidPrep.Nodeprep(input, strict: true));
        Assert.Null(JidPrep.Resourceprep(input, strict: true));
        Assert.NotNull(JidPrep.Resourceprep(input, strict: false));
    }

    [Theory]
    [InlineData("example.com", "example.com")]
    [InlineData("EXAMPLE.com.", "example.com")]
    [InlineData("Bücher.Example", "bücher.example")]
    [InlineData("xn--bcher-kva.example", "xn--bcher-kva.example")]
    [InlineData("[::FFFF:1.2.3.4]", "[::ffff:1.2.3.4]")]
    [InlineData("192.0.2.1", "192.0.2.1")]
    [InlineData("localhost", "localhost")]
    public void Nameprep_AcceptsDomains(string input, string expected)
    {
        Assert.Equal(expected, JidPrep.Nameprep(input));
    }

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("a..b")]
    [InlineData("-a.b")]
    [InlineData("a.b-")]
    [InlineData("a/b")]
    [InlineData("a@b")]
    [InlineData("a b")]
    [InlineData("[]")]
    [InlineData("[fe80::1%eth0]")]
    [InlineData("xn--zzzzzzzzzzz-.example")]
    public void Nameprep_RejectsBadDomains(string input)
    {
        Assert.Null(JidPrep.Nameprep(input));
    }

    [Fact]
    public void Nameprep_RejectsUnicodeLabel_WhoseAceFormExceeds63Octets()
    {
        Assert.NotNull(JidPrep.Nameprep(new string('ü', 20) + ".example"));
        Assert.Null(JidPrep.Nameprep(new string('ü', 60) + ".example"));
    }
}
