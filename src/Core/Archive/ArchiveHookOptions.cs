namespace LuaXmpp.Archive;

/// <summary>
/// What <see cref="ArchiveMessageHooks"/> needs to archive a message without the Lua module:
/// mod_mam's options as the module read them.
/// </summary>
/// <param name="Service">The archive; null in strict durability, whose waits and ordering the module keeps.</param>
/// <param name="SkipNamespaces">dont_archive_namespaces: payloads left out of the stored copy.</param>
/// <param name="DefaultPolicy">default_archive_policy: true, false or "roster" (the roster rule is the module's).</param>
/// <param name="AccountOnline">Whether a bare JID has a session here (then the account exists).</param>
/// <param name="Time">The clock of the item's timestamp.</param>
public sealed record ArchiveHookOptions(
    ArchiveService? Service,
    IReadOnlySet<string> SkipNamespaces,
    object? DefaultPolicy,
    Func<string, bool> AccountOnline,
    TimeProvider Time);
