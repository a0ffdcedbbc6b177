namespace LuaXmpp.LuaBridge.Libraries.Xml;

/// <summary>The kinds of token <see cref="XmlTokenScanner"/> reports.</summary>
internal enum XmlTokenKind
{
    StartTag,
    EndTag,
    Text,
    CData,
    Comment,
    ProcessingInstruction,
    Declaration,
    Doctype,
    Error,
}

/// <summary>
/// One token of an XML text. Names are qualified names as written (prefix:local); namespaces are
/// resolved by the Lua side, which keeps the scopes. Attributes are (name, value) pairs in
/// document order with entities already replaced.
/// </summary>
internal sealed record XmlToken(XmlTokenKind Kind, string Text, IReadOnlyList<KeyValuePair<string, string>>? Attributes = null, bool SelfClosing = false)
{
    /// <summary>The offset just past this token in the scanned bytes.</summary>
    public int End { get; init; }
}
