namespace LuaXmpp.Xmpp;

/// <summary>
/// An XMPP address (RFC 7622), stored normalised: node and domain prepared, resource prepared.
/// Immutable; equality is ordinal on the normalised form.
/// </summary>
public sealed class Jid : IEquatable<Jid>
{
    private readonly string _text;

    private Jid(string? node, string domain, string? resource)
    {
        Node = node;
        Domain = domain;
        Resource = resource;
        _text = (node is null ? domain : node + "@" + domain) + (resource is null ? "" : "/" + resource);
    }

    public string? Node { get; }

    public string Domain { get; }

    public string? Resource { get; }

    public bool IsBare => Resource is null;

    public bool IsFull => Resource is not null;

    /// <summary>node@domain (or domain), without the resource.</summary>
    public Jid Bare => Resource is null ? this : new Jid(Node, Domain, null);

    /// <summary>Parses and prepares a JID; false for anything RFC 7622 rejects.</summary>
    public static bool TryParse(string? text, out Jid jid)
    {
        jid = null!;
        if (!JidParts.TrySplit(text, out var node, out var domain, out var resource)) return false;
        string? n = null, r = null;
        if (node is not null && (n = JidPrep.Nodeprep(node)) is null) return false;
        var d = JidPrep.Nameprep(domain!);
        if (d is null) return false;
        if (resource is not null && (r = JidPrep.Resourceprep(resource)) is null) return false;
        jid = new Jid(n, d, r);
        return true;
    }

    public static Jid Parse(string text) =>
        TryParse(text, out var jid) ? jid : throw new FormatException($"Invalid JID '{text}'");

    /// <summary>Builds a JID from parts, preparing each; null if any part is invalid.</summary>
    public static Jid? Create(string? node, string domain, string? resource = null)
    {
        string? n = null, r = null;
        if (node is not null && (n = JidPrep.Nodeprep(node)) is null) return null;
        var d = JidPrep.Nameprep(domain);
        if (d is null) return null;
        if (resource is not null && (r = JidPrep.Resourceprep(resource)) is null) return null;
        return new Jid(n, d, r);
    }

    public Jid WithResource(string? resource) => Create(Node, Domain, resource) ?? throw new FormatException("Invalid resource");

    public bool Equals(Jid? other) => other is not null && other._text == _text;

    public override bool Equals(object? obj) => obj is Jid j && Equals(j);

    public override int GetHashCode() => _text.GetHashCode(StringComparison.Ordinal);

    public override string ToString() => _text;

    public static bool operator ==(Jid? a, Jid? b) => a is null ? b is null : a.Equals(b);

    public static bool operator !=(Jid? a, Jid? b) => !(a == b);
}
