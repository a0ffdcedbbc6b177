namespace LuaXmpp.Http;

/// <summary>
/// One HTTP request as the listener received it, body complete (bounded by
/// <c>http_max_content_size</c> before it gets here). Transport-neutral: the Kestrel listener
/// makes it, the Lua bridge turns it into net.http.server's request table.
/// </summary>
/// <param name="Host">The Host header without its port, lower-cased; null when absent.</param>
public sealed record HttpRequestData(
    long Id,
    string Method,
    string Path,
    string? Query,
    string HttpVersion,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    byte[] Body,
    string RemoteIp,
    bool Secure,
    string? Host,
    int LocalPort);
