using Xunit.Abstractions;

namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// <see cref="LoadTests"/> with stream management: every session enables resumable XEP-0198,
/// answers the server's &lt;r/&gt; and asks for acks itself every 10th message; at the end every
/// stanza each session sent must be acknowledged by the server, with nothing lost or duplicated.
/// CI: 300 sessions for 20 s; full: 10 000 for 60 s (same size variables as LoadTests).
/// </summary>
public sealed class SmacksSessionLoadTests(ITestOutputHelper output)
{
    [Fact]
    public Task ConcurrentSmacksSessions_ExchangeMessagesAndAcks_WithNothingLost() => LoadTests.RunAsync(output, smacks: true);
}
