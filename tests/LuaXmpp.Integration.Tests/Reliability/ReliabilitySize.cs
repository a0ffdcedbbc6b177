namespace LuaXmpp.Tests.Reliability;

/// <summary>
/// Sizes of the reliability tests: small by default (CI), large when LUAXMPP_RELIABILITY_FULL=1
/// (scripts/reliability.sh), or exactly what LUAXMPP_RELIABILITY_&lt;NAME&gt; says.
/// </summary>
public static class ReliabilitySize
{
    public static bool Full => Environment.GetEnvironmentVariable("LUAXMPP_RELIABILITY_FULL") == "1";

    public static int Pick(int ci, int full) => Full ? full : ci;

    /// <summary>An explicit override (e.g. LUAXMPP_RELIABILITY_CONNECTIONS=2000), else the CI or full size.</summary>
    public static int Pick(string name, int ci, int full) =>
        int.TryParse(Environment.GetEnvironmentVariable("LUAXMPP_RELIABILITY_" + name), out int value) ? value : Pick(ci, full);
}
