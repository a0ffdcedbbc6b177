using LuaXmpp.Xml;

namespace LuaXmpp.Xmpp;

/// <summary>
/// A stanza error (RFC 6120 §8.3): expected failures are values, turned into an error reply to
/// the sender. Type is one of auth, cancel, continue, modify, wait; Condition the element name
/// such as "service-unavailable".
/// </summary>
public sealed record StanzaError(string Type, string Condition, string? Text = null)
{
    public static StanzaError ServiceUnavailable(string? text = null) => new("cancel", "service-unavailable", text);
    public static StanzaError FeatureNotImplemented(string? text = null) => new("cancel", "feature-not-implemented", text);
    public static StanzaError BadRequest(string? text = null) => new("modify", "bad-request", text);
    public static StanzaError Forbidden(string? text = null) => new("auth", "forbidden", text);
    public static StanzaError ItemNotFound(string? text = null) => new("cancel", "item-not-found", text);
    public static StanzaError NotAllowed(string? text = null) => new("cancel", "not-allowed", text);
    public static StanzaError NotAuthorized(string? text = null) => new("auth", "not-authorized", text);
    public static StanzaError Conflict(string? text = null) => new("cancel", "conflict", text);
    public static StanzaError InternalServerError(string? text = null) => new("wait", "internal-server-error", text);
    public static StanzaError RecipientUnavailable(string? text = null) => new("wait", "recipient-unavailable", text);
    public static StanzaError RemoteServerNotFound(string? text = null) => new("cancel", "remote-server-not-found", text);
    public static StanzaError JidMalformed(string? text = null) => new("modify", "jid-malformed", text);
    public static StanzaError NotAcceptable(string? text = null) => new("modify", "not-acceptable", text);
    public static StanzaError PolicyViolation(string? text = null) => new("modify", "policy-violation", text);
    public static StanzaError UndefinedCondition(string? text = null) => new("cancel", "undefined-condition", text);
    public static StanzaError ResourceConstraint(string? text = null) => new("wait", "resource-constraint", text);

    /// <summary>The &lt;error/&gt; element.</summary>
    public XmlElement ToElement(string? by = null)
    {
        var error = new XmlElement("error", Namespaces.Client);
        error.SetAttribute("type", Type);
        if (by is not null) error.SetAttribute("by", by);
        error.AddChild(new XmlElement(Condition, Namespaces.Stanzas));
        if (Text is not null) error.AddChild(new XmlElement("text", Namespaces.Stanzas)).AddText(Text);
        return error;
    }
}
