namespace LuaXmpp.Http;

/// <summary>
/// Where an application writes its answer to one request. Called on the loop thread; the
/// listener writes to the socket off it. Calls after <see cref="Finish"/> are ignored, so a
/// handler that answers twice cannot corrupt the connection.
/// </summary>
public interface IHttpResponse
{
    /// <summary>Status and headers; must come first (a body write without it sends 200).</summary>
    void Start(int status, IReadOnlyList<KeyValuePair<string, string>> headers);

    void Write(ReadOnlyMemory<byte> chunk);

    void Finish();

    /// <summary>The module whose handler took the request (named in the log if it never answers).</summary>
    string? Owner { get; set; }

    /// <summary>True once the response finished or the client went away.</summary>
    bool Completed { get; }
}
