using LuaXmpp.Tests.Fixtures;
using Xunit.Abstractions;

namespace LuaXmpp.Tests.Mam;

/// <summary>
/// XEP-0313 through slixmpp's xep_0313 and xep_0441 plugins against the real server, with our
/// mod_mam and, for comparison, Prosody 0.12's own mod_mam loaded unmodified in its place.
/// </summary>
public sealed class MamClientTests(ITestOutputHelper output)
{
    /// <summary>Runs one scenario and checks it while the server (whose log a failure shows) still exists.</summary>
    private async Task RunAsync(MamModule module, string scenario, Action<ClientResult> assertions)
    {
        await using var server = await MamServers.StartAsync(output, module, null, "alice", "bob", "carol");
        string[] args = ["--scenario", scenario,
            "--jid1", server.Jid("alice"), "--jid2", server.Jid("bob"), "--jid3", server.Jid("carol"),
            "--password", MamServers.Password];
        // Prosody's module: disco is checked on its own (ProsodyModule_AdvertisesMamOnTheAccount).
        if (module == MamModule.Prosody) args = [.. args, "--skip-disco"];
        var result = await PythonClient.RunAsync(server, "mam.py", args);
        result.Check(assertions);
    }

    [Theory]
    [InlineData(MamModule.LuaXmpp)]
    [InlineData(MamModule.Prosody)]
    public async Task SentAndReceived_AreInBothArchives_WithStanzaIds(MamModule module)
    {
        await RunAsync(module, "both-ways", r =>
        {
            Assert.True(r.Ok);
            if (module == MamModule.LuaXmpp) Assert.Contains("urn:xmpp:mam:2", r.Strings("features"));
            Assert.Equal(8, r.Strings("a_archive").Length);
        });
    }

    [Theory]
    [InlineData(MamModule.LuaXmpp)]
    [InlineData(MamModule.Prosody)]
    public async Task WholeArchive_PagesBackwardsAndForwards_WithAndTimeFiltersApply(MamModule module)
    {
        await RunAsync(module, "paging", r =>
        {
            Assert.True(r.Ok);
            Assert.Equal(32, r.Strings("backwards").Length);
            Assert.Equal("to-c-2", r.Strings("backwards")[0]);
        });
    }

    [Theory]
    [InlineData(MamModule.LuaXmpp)]
    [InlineData(MamModule.Prosody)]
    public async Task Preferences_NeverAndAlways_AreHonoured(MamModule module)
    {
        await RunAsync(module, "prefs", r =>
        {
            Assert.True(r.Ok);
            Assert.Equal(["kept", "kept-too"], r.Strings("archive"));
        });
    }

    /// <summary>XEP-0431 through slixmpp: the form lists the field; word, prefix, phrase and with, paged by slixmpp's RSM iterator.</summary>
    [Fact]
    public async Task FullTextSearch_FindsWordsPrefixesAndPhrases_PagedBySlixmpp()
    {
        await RunAsync(MamModule.LuaXmpp, "fulltext", r =>
        {
            Assert.True(r.Ok);
            Assert.Contains("{urn:xmpp:fulltext:0}fulltext", r.Strings("fields"));
            Assert.Equal(["The quick brown fox", "quickly away", "a quick fox for carol"], r.Strings("prefix"));
        });
    }

    [Fact]
    public async Task ProsodyModule_AdvertisesMamOnTheAccount()
    {
        await RunAsync(MamModule.Prosody, "both-ways", r => Assert.Contains("urn:xmpp:mam:2", r.Strings("features")));
    }
}
