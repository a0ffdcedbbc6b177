namespace LuaXmpp.Xml;

/// <summary>
/// Input that breaks the stream (RFC 6120 §4.9): the connection answers with the condition as a
/// stream error and closes. Thrown by the parser and by stream-level checks, caught at the
/// connection boundary.
/// </summary>
public sealed class XmlStreamException(StreamErrorCondition condition, string? text = null)
    : Exception(text ?? condition.ToElementName())
{
    public StreamErrorCondition Condition { get; } = condition;

    /// <summary>Human-readable detail sent in the stream error's &lt;text/&gt;, if any.</summary>
    public string? Text { get; } = text;

    public static XmlStreamException NotWellFormed(string text) => new(StreamErrorCondition.NotWellFormed, text);
}
