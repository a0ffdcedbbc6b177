namespace LuaXmpp.Network;

/// <summary>What the read loop must do after the stream handler took an element.</summary>
public enum StreamAction
{
    /// <summary>Carry on parsing.</summary>
    Continue,

    /// <summary>RFC 6120 §5.4.3.3: &lt;proceed/&gt; was sent; discard buffered plaintext, handshake TLS, expect a new header.</summary>
    StartTls,

    /// <summary>RFC 6120 §6.4.6: SASL succeeded; expect a new stream header on the same transport.</summary>
    Restart,

    /// <summary>The stream is closed; stop reading.</summary>
    Close,
}
