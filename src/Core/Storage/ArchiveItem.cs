using LuaXmpp.Xml;

namespace LuaXmpp.Storage;

/// <summary>One archived item: its stable id, the time as Unix seconds (integral, Prosody's "when"), the peer and the stanza.</summary>
public sealed record ArchiveItem(string Key, long When, string? With, XmlElement Value);
