namespace LuaXmpp.Host.Cli;

/// <summary>Exit codes scripts can rely on (documented in the README).</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The operation failed: user exists, no such user, passwords differ, config has errors.</summary>
    public const int Failed = 1;

    /// <summary>The command line was not understood.</summary>
    public const int Usage = 2;

    /// <summary>The config file could not be read or evaluated, or names storage this server does not have (sql.driver).</summary>
    public const int BadConfig = 3;
}
