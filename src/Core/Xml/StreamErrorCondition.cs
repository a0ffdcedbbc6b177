namespace LuaXmpp.Xml;

/// <summary>The stream error conditions of RFC 6120 §4.9.3, in element-name order.</summary>
public enum StreamErrorCondition
{
    BadFormat,
    BadNamespacePrefix,
    Conflict,
    ConnectionTimeout,
    HostGone,
    HostUnknown,
    ImproperAddressing,
    InternalServerError,
    InvalidFrom,
    InvalidNamespace,
    InvalidXml,
    NotAuthorized,
    NotWellFormed,
    PolicyViolation,
    RemoteConnectionFailed,
    Reset,
    ResourceConstraint,
    RestrictedXml,
    SeeOtherHost,
    SystemShutdown,
    UndefinedCondition,
    UnsupportedEncoding,
    UnsupportedFeature,
    UnsupportedStanzaType,
    UnsupportedVersion,
}

public static class StreamErrorConditionNames
{
    /// <summary>The element name of a condition, e.g. "not-well-formed".</summary>
    public static string ToElementName(this StreamErrorCondition condition) => condition switch
    {
        StreamErrorCondition.BadFormat => "bad-format",
        StreamErrorCondition.BadNamespacePrefix => "bad-namespace-prefix",
        StreamErrorCondition.Conflict => "conflict",
        StreamErrorCondition.ConnectionTimeout => "connection-timeout",
        StreamErrorCondition.HostGone => "host-gone",
        StreamErrorCondition.HostUnknown => "host-unknown",
        StreamErrorCondition.ImproperAddressing => "improper-addressing",
        StreamErrorCondition.InternalServerError => "internal-server-error",
        StreamErrorCondition.InvalidFrom => "invalid-from",
        StreamErrorCondition.InvalidNamespace => "invalid-namespace",
        StreamErrorCondition.InvalidXml => "invalid-xml",
        StreamErrorCondition.NotAuthorized => "not-authorized",
        StreamErrorCondition.NotWellFormed => "not-well-formed",
        StreamErrorCondition.PolicyViolation => "policy-violation",
        StreamErrorCondition.RemoteConnectionFailed => "remote-connection-failed",
        StreamErrorCondition.Reset => "reset",
        StreamErrorCondition.ResourceConstraint => "resource-constraint",
        StreamErrorCondition.RestrictedXml => "restricted-xml",
        StreamErrorCondition.SeeOtherHost => "see-other-host",
        StreamErrorCondition.SystemShutdown => "system-shutdown",
        StreamErrorCondition.UndefinedCondition => "undefined-condition",
        StreamErrorCondition.UnsupportedEncoding => "unsupported-encoding",
        StreamErrorCondition.UnsupportedFeature => "unsupported-feature",
        StreamErrorCondition.UnsupportedStanzaType => "unsupported-stanza-type",
        StreamErrorCondition.UnsupportedVersion => "unsupported-version",
        _ => "undefined-condition",
    };

    public static StreamErrorCondition? FromElementName(string name)
    {
        foreach (var c in Enum.GetValues<StreamErrorCondition>())
        {
            if (c.ToElementName() == name) return c;
        }
        return null;
    }
}
