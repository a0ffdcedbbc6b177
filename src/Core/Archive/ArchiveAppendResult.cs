namespace LuaXmpp.Archive;

/// <summary>
/// The id an append will have (known at once, so the message can carry its stanza-id before it
/// is on disk) and the task that completes when its batch is committed, or faults if it fails.
/// </summary>
public sealed record ArchiveAppendResult(string Id, Task Committed);
