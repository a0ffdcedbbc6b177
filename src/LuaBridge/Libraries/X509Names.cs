using System.Formats.Asn1;
using System.Net;
using System.Text;

namespace LuaXmpp.LuaBridge.Libraries;

/// <summary>One attribute of a distinguished name: its OID, OpenSSL's long name for it, the value.</summary>
internal sealed record X509NameEntry(string Oid, string Name, string Value);

/// <summary>
/// Reads the parts of a certificate that LuaSec's <c>ssl.x509</c> hands to Lua, in LuaSec's
/// shapes: distinguished names as a list of (oid, name, value) in DER order (RFC 5280 §4.1.2.4),
/// and the alternative names (§4.2.1.6) grouped by kind, with otherName values (XMPP's
/// id-on-xmppAddr, RFC 6120 §13.7.1.4; SRVName, RFC 4985) under their OID.
/// </summary>
internal static class X509Names
{
    public const string SubjectAltName = "2.5.29.17";
    public const string IssuerAltName = "2.5.29.18";

    // OpenSSL's long names, which LuaSec reports in the "name" fields.
    private static readonly Dictionary<string, string> LongNames = new()
    {
        ["2.5.4.3"] = "commonName", ["2.5.4.4"] = "surname", ["2.5.4.5"] = "serialNumber",
        ["2.5.4.6"] = "countryName", ["2.5.4.7"] = "localityName", ["2.5.4.8"] = "stateOrProvinceName",
        ["2.5.4.9"] = "streetAddress", ["2.5.4.10"] = "organizationName", ["2.5.4.11"] = "organizationalUnitName",
        ["2.5.4.12"] = "title", ["2.5.4.42"] = "givenName", ["2.5.4.43"] = "initials", ["2.5.4.46"] = "dnQualifier",
        ["1.2.840.113549.1.9.1"] = "emailAddress", ["0.9.2342.19200300.100.1.1"] = "userId",
        ["0.9.2342.19200300.100.1.25"] = "domainComponent",
        ["1.3.6.1.5.5.7.8.5"] = "XmppAddr", ["1.3.6.1.5.5.7.8.7"] = "SRVName",
        [SubjectAltName] = "X509v3 Subject Alternative Name", [IssuerAltName] = "X509v3 Issuer Alternative Name",
    };

    public static string LongName(string oid) => LongNames.GetValueOrDefault(oid, oid);

    /// <summary>The attributes of an encoded Name, every attribute of a multi-valued RDN in turn.</summary>
    public static List<X509NameEntry> ReadName(ReadOnlyMemory<byte> encoded)
    {
        var entries = new List<X509NameEntry>();
        var name = new AsnReader(encoded, AsnEncodingRules.DER).ReadSequence();
        while (name.HasData)
        {
            var rdn = name.ReadSetOf(skipSortOrderValidation: true);
            while (rdn.HasData)
            {
                var attribute = rdn.ReadSequence();
                var oid = attribute.ReadObjectIdentifier();
                entries.Add(new X509NameEntry(oid, LongName(oid), ReadString(attribute)));
            }
        }
        return entries;
    }

    /// <summary>
    /// GeneralNames grouped as LuaSec groups them: "dNSName", "rfc822Name",
    /// "uniformResourceIdentifier", "iPAddress", and each otherName under its type OID.
    /// Kinds LuaSec does not report (x400Address, directoryName, ediPartyName, registeredID) are skipped.
    /// </summary>
    public static Dictionary<string, List<string>> ReadGeneralNames(ReadOnlyMemory<byte> extensionValue)
    {
        var groups = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        void Add(string kind, string value)
        {
            if (!groups.TryGetValue(kind, out var list)) groups[kind] = list = [];
            list.Add(value);
        }
        var names = new AsnReader(extensionValue, AsnEncodingRules.DER).ReadSequence();
        while (names.HasData)
        {
            var tag = names.PeekTag();
            if (tag.TagClass != TagClass.ContextSpecific)
            {
                names.ReadEncodedValue();
                continue;
            }
            switch (tag.TagValue)
            {
                case 0: // otherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY }
                    var other = names.ReadSequence(tag);
                    var typeId = other.ReadObjectIdentifier();
                    var value = other.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true));
                    Add(typeId, ReadString(value));
                    break;
                case 1:
                    Add("rfc822Name", Ia5(names, tag));
                    break;
                case 2:
                    Add("dNSName", Ia5(names, tag));
                    break;
                case 6:
                    Add("uniformResourceIdentifier", Ia5(names, tag));
                    break;
                case 7:
                    Add("iPAddress", IpText(names.ReadOctetString(tag)));
                    break;
                default:
                    names.ReadEncodedValue();
                    break;
            }
        }
        return groups;
    }

    private static string Ia5(AsnReader reader, Asn1Tag tag) =>
        Encoding.ASCII.GetString(reader.ReadOctetString(tag));

    private static string IpText(byte[] address) =>
        address.Length is 4 or 16 ? new IPAddress(address).ToString() : Convert.ToHexString(address);

    /// <summary>A DirectoryString or other string value as text; anything else as its hex encoding.</summary>
    private static string ReadString(AsnReader reader)
    {
        var tag = reader.PeekTag();
        if (tag.TagClass == TagClass.Universal)
        {
            var kind = (UniversalTagNumber)tag.TagValue;
            if (kind is UniversalTagNumber.UTF8String or UniversalTagNumber.PrintableString or UniversalTagNumber.IA5String
                or UniversalTagNumber.BMPString or UniversalTagNumber.NumericString or UniversalTagNumber.VisibleString
                or UniversalTagNumber.T61String)
            {
                return reader.ReadCharacterString(kind);
            }
        }
        return Convert.ToHexString(reader.ReadEncodedValue().Span);
    }
}
