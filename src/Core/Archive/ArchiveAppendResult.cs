namespace LuaXmpp.Archive;

/// <summary>
/// The id an append will have (known at once, so the message can carry its stanza-id before it
/// is on disk) and the task that completes when its batch is committed, or faults if it fails.
/// In batched mode a failed batch is held and retried, so its task completes late rather than
/// faulting (see <see cref="ArchiveWriter"/>).
/// </summary>
public sealed record ArchiveAppendResult(string Id, Task Committed);
