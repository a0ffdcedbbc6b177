using System.Collections.Concurrent;
using System.Security.Cryptography;
using LuaXmpp.Logging;
using Microsoft.AspNetCore.Http;

namespace LuaXmpp.Host.Http.Bosh;

/// <summary>
/// XMPP over BOSH (XEP-0124, XEP-0206) on the HTTP listener, where Prosody's mod_bosh serves it
/// (/http-bind). Each session runs an ordinary c2s connection (<paramref name="runC2s"/>: the
/// stream, the client's address, secure or not) over a <see cref="BoshSession"/>.
/// </summary>
/// <param name="hostExists">Whether a 'to' names a local VirtualHost (else improper-addressing, XEP-0124 §17).</param>
public sealed class BoshEndpoint(BoshSettings settings, Func<Stream, string, bool, Task> runC2s, Func<string, bool> hostExists, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, BoshSession> _sessions = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Logger _log = Logger.For("bosh");
    private int _sweeping;

    /// <summary>Logs what Prosody logs for options it reads at load.</summary>
    internal void LogOptions()
    {
        if (settings.CrossDomainSet) _log.Info("The 'cross_domain_bosh' option has been deprecated");
    }

    public BoshSettings Settings => settings;

    /// <summary>Sessions open now.</summary>
    public int Count => _sessions.Count;

    internal bool Matches(PathString path) =>
        path.Equals(settings.Path, StringComparison.Ordinal) || path.Equals(settings.Path + "/", StringComparison.Ordinal);

    internal async Task HandleAsync(HttpContext context, string remoteIp)
    {
        AddCors(context);
        var method = context.Request.Method;
        if (HttpMethods.IsOptions(method)) return; // CORS preflight: the headers are the answer
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method))
        {
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync("This is an XMPP over BOSH endpoint (XEP-0206): POST <body/> requests here.\n");
            return;
        }
        if (!HttpMethods.IsPost(method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            context.Response.Headers.Allow = "GET, POST, OPTIONS";
            return;
        }
        byte[] bytes;
        try
        {
            bytes = await HttpListenerHost.ReadBodyAsync(context.Request, context.RequestAborted);
        }
        catch (BadHttpRequestException e)
        {
            _log.Warn($"Rejected BOSH request from {remoteIp}: {e.Message}");
            context.Response.StatusCode = e.StatusCode;
            return;
        }
        var answer = await AnswerAsync(bytes, remoteIp, context.Request.IsHttps, context.RequestAborted);
        if (answer is null) return; // the client went away
        context.Response.ContentType = "text/xml; charset=utf-8";
        await context.Response.WriteAsync(answer, context.RequestAborted);
    }

    private async Task<string?> AnswerAsync(byte[] bytes, string remoteIp, bool https, CancellationToken aborted)
    {
        var body = BoshBody.Parse(bytes);
        if (body is null)
        {
            _log.Info($"BOSH request from {remoteIp} is not a <body/>: bad-request");
            return BoshBody.Terminate("bad-request");
        }
        if (!long.TryParse(BoshBody.Attr(body, "rid"), out var rid) || rid <= 0)
            return BoshBody.Terminate("bad-request"); // §17: a request without a valid rid
        var sid = BoshBody.Attr(body, "sid");
        if (sid is null) return await CreateAsync(body, rid, remoteIp, https, aborted);
        if (!_sessions.TryGetValue(sid, out var session))
        {
            _log.Info($"BOSH request from {remoteIp} for unknown sid {sid}: item-not-found");
            return BoshBody.Terminate("item-not-found");
        }
        var outcome = session.Accept(rid, BoshBody.Payload(body), BoshBody.Restart(body), BoshBody.Attr(body, "type") == "terminate");
        return outcome switch
        {
            BoshSession.Outcome.Answer a => a.Body,
            BoshSession.Outcome.Waiting w => await WaitAsync(session, w.Request, aborted),
            _ => throw new InvalidOperationException(),
        };
    }

    // XEP-0124 §7.1 / XEP-0206 §4: a new session, answered once the stream's features are there.
    private async Task<string?> CreateAsync(System.Xml.Linq.XElement body, long rid, string remoteIp, bool https, CancellationToken aborted)
    {
        var to = BoshBody.Attr(body, "to")?.ToLowerInvariant();
        if (to is null || !hostExists(to))
        {
            _log.Info($"BOSH session request from {remoteIp} for unknown host '{to}': improper-addressing");
            return BoshBody.Terminate("improper-addressing");
        }
        if (!int.TryParse(BoshBody.Attr(body, "wait"), out var wait) || wait < 0)
            return BoshBody.Terminate("bad-request");
        var lang = (string?)body.Attribute(System.Xml.Linq.XNamespace.Xml + "lang");
        var sid = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var session = new BoshSession(sid, to, rid, TimeSpan.FromSeconds(Math.Min(wait, settings.MaxWait.TotalSeconds)), lang, settings, time);
        _sessions[sid] = session;
        _log.Info($"New BOSH session {sid} for {to} from {remoteIp}");
        // Held first: the stream beneath may end at once (a refused login) and must find it there.
        var held = session.Create(rid);
        _ = session.RunAsync(stream => runC2s(stream, remoteIp, https || settings.ConsiderSecure), s => _sessions.TryRemove(s.Sid, out _));
        StartSweeping();
        return await WaitAsync(session, held, aborted);
    }

    // §10: a held request is answered when there is something to send, or empty after 'wait'.
    private async Task<string?> WaitAsync(BoshSession session, BoshSession.Held held, CancellationToken aborted)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(aborted, _stopping.Token);
        var waited = Task.Delay(session.Wait, time, stop.Token);
        await Task.WhenAny(held.Answer.Task, waited).ConfigureAwait(false);
        if (!held.Answer.Task.IsCompleted)
        {
            var gone = aborted.IsCancellationRequested;
            if (session.Release(held, gone) is { } empty) return empty;
            if (gone && !held.Answer.Task.IsCompleted) return null;
        }
        stop.Cancel();
        return await held.Answer.Task.ConfigureAwait(false);
    }

    // Prosody 0.12's mod_http CORS for the "bosh" app: the request's origin echoed when allowed.
    private void AddCors(HttpContext context)
    {
        if (!settings.CorsEnabled) return;
        var origin = context.Request.Headers.Origin.ToString();
        if (settings.CorsOrigins.Count > 0 && !settings.CorsOrigins.Contains(origin)) return;
        var headers = context.Response.Headers;
        headers.AccessControlAllowOrigin = origin.Length > 0 ? origin : "*";
        headers.AccessControlAllowMethods = "GET, POST, OPTIONS";
        headers.AccessControlAllowHeaders = "Content-Type";
        headers.AccessControlMaxAge = settings.CorsMaxAge.ToString();
    }

    // bosh_max_inactivity: once a second, sessions that held no request for that long end as a
    // dropped TCP connection would (an XEP-0198 session hibernates).
    private void StartSweeping()
    {
        if (Interlocked.Exchange(ref _sweeping, 1) != 0) return;
        _ = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
            try
            {
                while (await timer.WaitForNextTickAsync(_stopping.Token))
                {
                    foreach (var session in _sessions.Values)
                    {
                        if (!session.Inactive()) continue;
                        session.Expire($"no request for {settings.MaxInactivity.TotalSeconds:0} s (bosh_max_inactivity)");
                        _sessions.TryRemove(session.Sid, out _);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    /// <summary>Stops the inactivity sweep and answers every held request (the listener is closing).</summary>
    internal void Stop() => _stopping.Cancel();
}
