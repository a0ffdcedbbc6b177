using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.C2s;

public sealed partial class ClientStreamHandler
{
    // The client's stream xml:lang; "en" when its header has none (Prosody's default).
    private string _streamLanguage = "en";

    private void ReadStreamLanguage(XmlElement header)
    {
        var language = header.GetAttribute("xml:lang");
        if (!string.IsNullOrEmpty(language)) _streamLanguage = language;
    }

    /// <summary>
    /// RFC 6120 §8.1.5: a stanza without xml:lang is in the stream's language; the server stamps
    /// it, so that recipients and modules see it, as Prosody's parser does.
    /// </summary>
    private void StampLanguage(XmlElement element)
    {
        if (element.Namespace != Namespaces.Client || element.Name is not ("message" or "presence" or "iq")) return;
        if (element.GetAttribute("xml:lang") is null) element.SetAttribute("xml:lang", _streamLanguage);
    }
}
