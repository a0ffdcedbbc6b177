namespace LuaXmpp.Tests.Reliability.StanzaFuzz;

/// <summary>The running server under test, however it was started (the test's ServerProcess or the tool's launcher).</summary>
/// <param name="ExitCode">null while the process runs.</param>
/// <param name="RssKib">The server's resident memory now (KiB), 0 if unknown.</param>
public sealed record StanzaFuzzTarget(int Port, string Host, string LogPath, Func<int?> ExitCode, Func<long> RssKib);
