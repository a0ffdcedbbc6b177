namespace LuaXmpp.Sessions.StreamManagement;

/// <summary>The XEP-0198 namespaces: version 3 and the older version 2, which differs only in name.</summary>
public static class StreamManagementNamespaces
{
    public const string V3 = "urn:xmpp:sm:3";
    public const string V2 = "urn:xmpp:sm:2";

    public static bool IsStreamManagement(string ns) => ns is V3 or V2;
}
