namespace LuaXmpp.Xml;

/// <summary>
/// Bounds the stream parser enforces so that a peer cannot make the server buffer or recurse without
/// limit (RFC 6120 §13.12, "Denial of Service"). Breaking one is a policy-violation stream error.
/// </summary>
/// <param name="MaxStanzaBytes">Raw bytes of one depth-1 element (also of the stream header and the
/// XML declaration). Prosody 0.12 allows 10 000 before authentication, 256 KiB after.</param>
/// <param name="MaxDepth">Element nesting inside the stream: the stanza itself is depth 1.</param>
/// <param name="MaxAttributes">Attributes on one start tag, namespace declarations included.</param>
/// <param name="MaxNameLength">Bytes of one qualified element or attribute name.</param>
/// <param name="MaxElements">Elements in one stanza, itself included. The byte limit alone lets a
/// 256 KiB stanza carry 60 000 empty children, each an object here and a table in Lua: half a
/// second of CPU for one stanza (issue 16, item 8). No stanza a client sends needs thousands.</param>
public sealed record XmlStreamLimits(int MaxStanzaBytes = 10_000, int MaxDepth = 32, int MaxAttributes = 64, int MaxNameLength = 256, int MaxElements = 4_096);
