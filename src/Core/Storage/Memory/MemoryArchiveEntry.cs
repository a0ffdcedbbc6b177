using LuaXmpp.Xml;

namespace LuaXmpp.Storage.Memory;

/// <summary>One archived row, as the SQL driver's prosodyarchive row.</summary>
internal sealed record MemoryArchiveEntry(long SortId, string User, string Key, long When, string With, XmlElement Value);
