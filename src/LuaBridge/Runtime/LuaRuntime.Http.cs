using KeraLua;
using LuaXmpp.Http;
using LuaXmpp.LuaBridge.Interop;
using LuaXmpp.LuaBridge.Libraries;

namespace LuaXmpp.LuaBridge.Runtime;

// The HTTP application: requests from the native listener go to our net.http.server
// (Lua/net/http/server.lua), where mod_http's routes live; its answers come back through the
// http_* primitives into the listener's IHttpResponse. One request, one Lua call on the loop;
// a handler that waits finishes later through the same primitives.
public sealed partial class LuaRuntime : IHttpApplication
{
    private readonly Dictionary<long, IHttpResponse> _httpResponses = new();
    private int _httpHandle = LuaRef.NoRef;

    /// <summary>Set when mod_http loads (Prosody opens its HTTP ports only then).</summary>
    public bool HttpWanted { get; private set; }

    /// <summary>Responses the application has not finished (tests: none may leak).</summary>
    internal int OpenHttpResponses => _httpResponses.Count;

    private void RegisterHttpNatives(NativeTable n)
    {
        n.Add("http_enable", _ => { HttpWanted = true; return 0; });
        n.Add("http_start", HttpStart);
        n.Add("http_write", HttpWrite);
        n.Add("http_finish", HttpFinish);
        n.Add("http_owner", HttpOwner);
        n.Add("http_request", HttpRequest);
    }

    // net.http's client: one HttpClient per trust mode, requests off the loop, results back
    // through the pending mechanism (callback style in Lua, nothing waits).
    private static readonly HttpClient VerifyingClient = NewClient(insecure: false);
    private static readonly HttpClient InsecureClient = NewClient(insecure: true);

    private static HttpClient NewClient(bool insecure)
    {
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        if (insecure) handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.UserAgent.ParseAdd("LuaXmpp");
        return client;
    }

    // http_request(method, url, { name, value, ... }, body?, insecure) → status, body, { name, value, ... }
    private int HttpRequest(Lua lua)
    {
        var method = lua.OptString(1) ?? "GET";
        var url = lua.OptString(2) ?? "";
        var request = new HttpRequestMessage(new HttpMethod(method), url);
        byte[]? body = NativeBoundary.OptBytes(lua, 4);
        if (body is not null) request.Content = new ByteArrayContent(body);
        if (lua.Type(3) == LuaType.Table)
        {
            int count = (int)lua.RawLen(3);
            for (int i = 1; i + 1 <= count; i += 2)
            {
                lua.RawGetInteger(3, i);
                lua.RawGetInteger(3, i + 1);
                if (lua.RawString(-2) is { } name && lua.RawString(-1) is { } value
                    && !request.Headers.TryAddWithoutValidation(name, value) && request.Content is not null)
                {
                    request.Content.Headers.Remove(name);
                    request.Content.Headers.TryAddWithoutValidation(name, value);
                }
                lua.Pop(2);
            }
        }
        var client = lua.ToBoolean(5) ? InsecureClient : VerifyingClient;
        var task = SendAsync(client, request);
        return PushWhenDone(lua, task, l =>
        {
            var (status, content, headers) = task.Result;
            l.PushInteger(status);
            l.PushBuffer(content);
            l.CreateTable(headers.Count * 2, 0);
            int i = 0;
            foreach (var (name, value) in headers)
            {
                NativeBoundary.PushUtf8(l, name);
                l.RawSetInteger(-2, ++i);
                NativeBoundary.PushUtf8(l, value);
                l.RawSetInteger(-2, ++i);
            }
            return 3;
        });
    }

    private static async Task<(int Status, byte[] Body, List<KeyValuePair<string, string>> Headers)> SendAsync(HttpClient client, HttpRequestMessage request)
    {
        using (request)
        {
            using var response = await client.SendAsync(request).ConfigureAwait(false);
            var body = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
            var headers = new List<KeyValuePair<string, string>>();
            foreach (var (name, values) in response.Headers) headers.Add(new(name, string.Join(", ", values)));
            foreach (var (name, values) in response.Content.Headers) headers.Add(new(name, string.Join(", ", values)));
            return ((int)response.StatusCode, body, headers);
        }
    }

    public void Handle(HttpRequestData request, IHttpResponse response)
    {
        AssertLoop();
        if (_disposed || !ResolveHttpHandle())
        {
            Fail(response, 503);
            return;
        }
        _httpResponses[request.Id] = response;
        using var scope = LuaStack.Enter(State);
        var lua = scope.Lua;
        lua.PushRef(_call);
        lua.PushRef(_httpHandle);
        PushRequest(lua, request);
        if (scope.PCall(11, 2) != LuaStatus.OK || !lua.ToBoolean(-2))
        {
            _log.Error($"HTTP {request.Method} {request.Path} failed: {lua.ToString(-1, false)}");
            if (_httpResponses.Remove(request.Id)) Fail(response, 500);
        }
    }

    // handle(id, method, path, query, version, headers, body, ip, secure, host)
    private static void PushRequest(Lua lua, HttpRequestData request)
    {
        lua.PushInteger(request.Id);
        lua.PushString(request.Method);
        NativeBoundary.PushUtf8(lua, request.Path);
        if (request.Query is null) lua.PushNil();
        else NativeBoundary.PushUtf8(lua, request.Query);
        lua.PushString(request.HttpVersion);
        lua.CreateTable(request.Headers.Count * 2, 0);
        int i = 0;
        foreach (var (name, value) in request.Headers)
        {
            lua.PushString(name);
            lua.RawSetInteger(-2, ++i);
            NativeBoundary.PushUtf8(lua, value);
            lua.RawSetInteger(-2, ++i);
        }
        lua.PushBuffer(request.Body);
        lua.PushString(request.RemoteIp);
        lua.PushBoolean(request.Secure);
        if (request.Host is null) lua.PushNil();
        else NativeBoundary.PushUtf8(lua, request.Host);
    }

    private bool ResolveHttpHandle()
    {
        if (_httpHandle != LuaRef.NoRef) return true;
        using var scope = LuaStack.Enter(State, 16);
        var lua = scope.Lua;
        lua.PushRef(_call);
        lua.GetGlobal("require");
        lua.PushString("net.http.server");
        if (scope.PCall(2, 2) != LuaStatus.OK || !lua.ToBoolean(-2) || lua.Type(-1) != LuaType.Table)
        {
            _log.Error("net.http.server did not load: " + lua.ToString(-1, false));
            return false;
        }
        lua.RawGetField(-1, "handle");
        if (lua.Type(-1) != LuaType.Function) return false;
        _httpHandle = lua.PopRef();
        return true;
    }

    private static void Fail(IHttpResponse response, int status)
    {
        response.Start(status, []);
        response.Finish();
    }

    // http_start(id, status, { name, value, ... })
    private int HttpStart(Lua lua)
    {
        if (!_httpResponses.TryGetValue(lua.ToInteger(1), out var response)) return 0;
        var status = lua.IsInteger(2) ? (int)lua.ToInteger(2) : 200;
        if (status is < 100 or > 999) status = 500;
        var headers = new List<KeyValuePair<string, string>>();
        if (lua.Type(3) == LuaType.Table)
        {
            int count = (int)lua.RawLen(3);
            for (int i = 1; i + 1 <= count; i += 2)
            {
                lua.RawGetInteger(3, i);
                lua.RawGetInteger(3, i + 1);
                if (lua.RawString(-2) is { } name && lua.RawString(-1) is { } value) headers.Add(new(name, value));
                lua.Pop(2);
            }
        }
        response.Start(status, headers);
        return 0;
    }

    // http_write(id, bytes)
    private int HttpWrite(Lua lua)
    {
        if (!_httpResponses.TryGetValue(lua.ToInteger(1), out var response)) return 0;
        if (NativeBoundary.OptBytes(lua, 2) is { Length: > 0 } chunk) response.Write(chunk);
        lua.PushBoolean(!response.Completed);
        return 1;
    }

    // http_finish(id)
    private int HttpFinish(Lua lua)
    {
        if (_httpResponses.Remove(lua.ToInteger(1), out var response)) response.Finish();
        return 0;
    }

    // http_owner(id, module): which module's handler took the request.
    private int HttpOwner(Lua lua)
    {
        if (_httpResponses.TryGetValue(lua.ToInteger(1), out var response)) response.Owner = lua.RawString(2);
        return 0;
    }
}
