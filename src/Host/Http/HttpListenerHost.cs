using System.Buffers;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using LuaXmpp.Host.Http.Bosh;
using LuaXmpp.Http;
using LuaXmpp.Logging;
using LuaXmpp.Loop;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace LuaXmpp.Host.Http;

/// <summary>
/// The HTTP listener (Kestrel): HTTP/1.1 on <c>http_ports</c>, HTTP/1.1 and HTTP/2 with the
/// host certificates on <c>https_ports</c>. Each request's body is read off the loop (bounded
/// by <c>http_max_content_size</c>: Kestrel answers 413 past it), handed to the
/// <see cref="IHttpApplication"/> on the loop, and the answer the loop queues is written back
/// off it. Malformed requests are answered 400 by Kestrel itself and never reach the loop.
/// </summary>
public sealed class HttpListenerHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ServerLoop _loop;
    private readonly IHttpApplication _application;
    private readonly Logger _log = Logger.For("http");
    private long _requestIds;

    private HttpListenerHost(WebApplication app, ServerLoop loop, IHttpApplication application)
    {
        _app = app;
        _loop = loop;
        _application = application;
    }

    public IReadOnlyList<IPEndPoint> EndPoints { get; private init; } = [];

    private WebSocketEndpoint? WebSocket { get; init; }

    private BoshEndpoint? Bosh { get; init; }

    private TimeSpan HandlerTimeout { get; init; }

    /// <summary>Starts listening; throws <see cref="IOException"/> naming the port when one cannot be bound.</summary>
    public static async Task<HttpListenerHost> StartAsync(
        HttpListenerSettings settings, ServerLoop loop, IHttpApplication application, Func<string?, X509Certificate2?> certificateFor,
        WebSocketEndpoint? webSocket = null, BoshEndpoint? bosh = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders(); // our log lines, not ASP.NET's
        var secure = settings.Secure.Where(_ => certificateFor(null) is not null).ToList();
        var gate = settings.MaxConnectionsPerIp > 0 ? new HttpConnectionGate(settings.MaxConnectionsPerIp, Logger.For("http")) : null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = settings.MaxContentSize;
            kestrel.Limits.MaxRequestHeadersTotalSize = settings.MaxHeaderBytes;
            kestrel.Limits.KeepAliveTimeout = settings.IdleTimeout;
            kestrel.Limits.RequestHeadersTimeout = settings.HeadersTimeout;
            foreach (var endPoint in settings.Plain)
                kestrel.Listen(endPoint, o =>
                {
                    o.Protocols = HttpProtocols.Http1;
                    if (gate is not null) o.Use(gate.For(plain: true));
                });
            foreach (var endPoint in secure)
                kestrel.Listen(endPoint, o =>
                {
                    o.Protocols = HttpProtocols.Http1AndHttp2;
                    if (gate is not null) o.Use(gate.For(plain: false));
                    o.UseHttps(https => https.ServerCertificateSelector = (_, name) => certificateFor(name) ?? certificateFor(null));
                });
        });
        var app = builder.Build();
        var host = new HttpListenerHost(app, loop, application)
        {
            EndPoints = [.. settings.Plain, .. secure], WebSocket = webSocket, Bosh = bosh, HandlerTimeout = settings.HandlerTimeout,
        };
        if (webSocket is not null) app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        app.Run(host.HandleAsync);
        try
        {
            await app.StartAsync();
        }
        catch (IOException e)
        {
            // Kestrel's AddressInUseException is an IOException too.
            await app.DisposeAsync();
            throw new IOException($"HTTP listener: cannot listen on {string.Join(", ", host.EndPoints)}: {e.Message}", e);
        }
        foreach (var endPoint in settings.Plain) host._log.Info($"HTTP listening on {endPoint}");
        foreach (var endPoint in secure) host._log.Info($"HTTPS listening on {endPoint}");
        if (secure.Count < settings.Secure.Count) host._log.Warn("No certificate: https_ports are not opened");
        bosh?.LogOptions();
        return host;
    }

    private async Task HandleAsync(HttpContext context)
    {
        if (WebSocket is { } ws && context.Request.Path == ws.Path)
        {
            await ws.HandleAsync(context, _log);
            return;
        }
        if (Bosh is { } bosh && bosh.Matches(context.Request.Path))
        {
            await bosh.HandleAsync(context, RemoteIp(context));
            return;
        }
        var request = await ReadAsync(context);
        if (request is null) return;
        var response = new QueuedHttpResponse();
        _loop.Post(() => Dispatch(request, response));
        try
        {
            await WriteAsync(context, request, response, context.RequestAborted);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The client went away; the application's later writes are dropped.
        }
        finally
        {
            response.Abandon();
        }
    }

    private void Dispatch(HttpRequestData request, QueuedHttpResponse response)
    {
        try
        {
            _application.Handle(request, response);
        }
        catch (Exception e)
        {
            _log.Error($"Request {request.Method} {request.Path} failed", e);
            response.Start(500, []);
            response.Finish();
        }
    }

    private async Task<HttpRequestData?> ReadAsync(HttpContext context)
    {
        var http = context.Request;
        byte[] body;
        try
        {
            body = await ReadBodyAsync(http, context.RequestAborted);
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e)
        {
            // Past http_max_content_size, or a broken chunked body: Kestrel's status (413, 400).
            _log.Warn($"Rejected {http.Method} {http.Path} from {RemoteIp(context)}: {e.Message}");
            context.Response.StatusCode = e.StatusCode;
            return null;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            return null;
        }
        var headers = new List<KeyValuePair<string, string>>(http.Headers.Count);
        foreach (var (name, values) in http.Headers) headers.Add(new(name, values.ToString()));
        return new HttpRequestData(
            Interlocked.Increment(ref _requestIds),
            http.Method,
            http.Path.HasValue ? http.PathBase + http.Path : "/",
            http.QueryString.HasValue ? http.QueryString.Value![1..] : null,
            http.Protocol.StartsWith("HTTP/", StringComparison.Ordinal) ? http.Protocol[5..] : "1.1",
            headers,
            body,
            RemoteIp(context),
            http.IsHttps,
            http.Host.HasValue ? http.Host.Host.ToLowerInvariant() : null,
            context.Connection.LocalPort);
    }

    /// <summary>
    /// The whole body, copied once: Kestrel's buffers are kept (not consumed) until the body is
    /// complete, then copied into the one array the application gets. Kestrel enforces
    /// <c>http_max_content_size</c> while they fill.
    /// </summary>
    internal static async Task<byte[]> ReadBodyAsync(HttpRequest http, CancellationToken cancel)
    {
        if (http.ContentLength == 0) return [];
        var reader = http.BodyReader;
        while (true)
        {
            var read = await reader.ReadAsync(cancel);
            if (read.IsCompleted)
            {
                var body = read.Buffer.ToArray();
                reader.AdvanceTo(read.Buffer.End);
                return body;
            }
            reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }

    private static string RemoteIp(HttpContext context)
    {
        var ip = context.Connection.RemoteIpAddress;
        if (ip is null) return "?";
        return (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString();
    }

    // Drains what the loop queues into the socket. A handler gets http_handler_timeout to start
    // its answer (and as long between two parts of it): past that the client gets 504 (or, once
    // the status line went out, a cut connection) and the owning module is named in the log.
    private async Task WriteAsync(HttpContext context, HttpRequestData request, QueuedHttpResponse response, CancellationToken cancel)
    {
        var http = context.Response;
        using var deadline = new CancellationTokenSource(HandlerTimeout, _loop.Time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancel, deadline.Token);
        var parts = response.Parts;
        while (true)
        {
            try
            {
                if (!await parts.WaitToReadAsync(either.Token)) return;
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancel.IsCancellationRequested)
            {
                await HandlerTimedOutAsync(context, request, response);
                return;
            }
            deadline.CancelAfter(HandlerTimeout);
            while (parts.TryRead(out var part))
            {
                if (part.Headers is { } headers)
                {
                    http.StatusCode = part.Status;
                    foreach (var (name, value) in headers) SetHeader(http, name, value);
                    continue;
                }
                await http.Body.WriteAsync(part.Chunk, cancel);
            }
        }
    }

    private async Task HandlerTimedOutAsync(HttpContext context, HttpRequestData request, QueuedHttpResponse response)
    {
        var owner = response.Owner is { } module ? $"module {module}" : "no module (no route answered)";
        _log.Warn($"HTTP {request.Method} {request.Path} from {request.RemoteIp}: {owner} did not answer within {HandlerTimeout.TotalSeconds:0} s (http_handler_timeout)");
        response.Abandon();
        if (context.Response.HasStarted)
        {
            context.Abort(); // the status line went out: only a cut connection tells the client
            return;
        }
        context.Response.StatusCode = StatusCodes.Status504GatewayTimeout;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync("The request's handler did not answer in time.\n");
    }

    // Framing is Kestrel's to do: a handler's Connection or Transfer-Encoding header is dropped,
    // Content-Length is kept only as a number (a HEAD answer states the size it would send).
    private static void SetHeader(HttpResponse http, string name, string value)
    {
        if (name.Equals("connection", StringComparison.OrdinalIgnoreCase)
            || name.Equals("transfer-encoding", StringComparison.OrdinalIgnoreCase)
            || name.Equals("keep-alive", StringComparison.OrdinalIgnoreCase)) return;
        if (name.Equals("content-length", StringComparison.OrdinalIgnoreCase))
        {
            if (long.TryParse(value, out var length) && length >= 0) http.ContentLength = length;
            return;
        }
        if (value.AsSpan().IndexOfAny('\r', '\n') >= 0) return; // no header injection
        http.Headers[name] = value;
    }

    public async ValueTask DisposeAsync()
    {
        Bosh?.Stop();
        try
        {
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(grace.Token);
        }
        finally
        {
            await _app.DisposeAsync();
        }
    }
}
