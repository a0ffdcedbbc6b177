namespace LuaXmpp.Http;

/// <summary>
/// What the HTTP listener hands each request to (the Lua bridge's net.http.server, where
/// modules' <c>module:provides("http")</c> routes live). Called on the loop thread.
/// </summary>
public interface IHttpApplication
{
    /// <summary>Whether any module asked for HTTP (mod_http loaded): the listener opens its ports only then, as Prosody does.</summary>
    bool HttpWanted { get; }

    void Handle(HttpRequestData request, IHttpResponse response);
}
