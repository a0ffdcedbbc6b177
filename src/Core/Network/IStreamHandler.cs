using LuaXmpp.Xml;

namespace LuaXmpp.Network;

/// <summary>
/// The protocol side of a connection. The connection calls it, one call at a time and in order,
/// for every parsed stream event; each call runs on the loop thread.
/// </summary>
public interface IStreamHandler
{
    Task<StreamAction> OnStreamHeaderAsync(StreamHeaderEvent header);

    Task<StreamAction> OnElementAsync(XmlElement element);

    /// <summary>The client closed its stream (&lt;/stream:stream&gt;).</summary>
    Task OnStreamEndAsync();

    /// <summary>The transport is gone (any reason); called exactly once, last.</summary>
    Task OnDisconnectedAsync(string reason);
}

/// <summary>A stream handler that must act once TLS is up (the initiating side of STARTTLS sends the new stream header).</summary>
public interface ITlsAwareStreamHandler : IStreamHandler
{
    void OnTlsEstablished();
}
