namespace LuaXmpp.Sessions.StreamManagement;

/// <summary>
/// The outcome of an &lt;a h='…'/&gt; (XEP-0198 §4): how many stanzas it newly acknowledged, or,
/// when the client claims more than we sent, the numbers to name in the stream error.
/// </summary>
public readonly record struct AckResult(bool Valid, uint NewlyAcked, uint ClaimedH, uint SentH)
{
    public static AckResult Ok(uint newlyAcked, uint h, uint sent) => new(true, newlyAcked, h, sent);

    public static AckResult TooMany(uint h, uint sent) => new(false, 0, h, sent);

    /// <summary>The stream error text (Prosody's wording, plus both numbers so the log shows the disagreement).</summary>
    public string ErrorText => $"Client acknowledged more stanzas than sent by server (h='{ClaimedH}', but only {SentH} sent)";
}
