namespace LuaXmpp.Host.Cli;

/// <summary>Exit codes scripts can rely on (documented in the README).</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The operation failed: user exists, no such user, passwords differ, config has errors, server not running.</summary>
    public const int Failed = 1;

    /// <summary>The command line was not understood (unknown command, wrong arguments).</summary>
    public const int Usage = 2;

    /// <summary>The config file could not be read or evaluated, an option has an invalid value (a port "abc", a data_path that is a file), or it names storage this server does not have (sql.driver).</summary>
    public const int BadConfig = 3;

    /// <summary>
    /// The config is valid but the machine refuses what it names: a port already in use or not
    /// permitted, a data_path that is not writable, a certificate that is missing or unreadable,
    /// a user to switch to that does not exist.
    /// </summary>
    public const int Unusable = 4;

    /// <summary>The server stopped on an error after it had started (its log says why).</summary>
    public const int Crashed = 5;
}
