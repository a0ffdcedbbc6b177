using LuaXmpp.Logging;
using Microsoft.AspNetCore.Http;

namespace LuaXmpp.Host.Http;

/// <summary>
/// Where XMPP over WebSocket is served (Prosody's mod_websocket path, /xmpp-websocket by
/// default) and how a connection becomes a c2s session: <see cref="RunC2s"/> runs a c2s
/// connection over the stream it is given, for the client's address, secure or not.
/// </summary>
public sealed record WebSocketEndpoint(string Path, Func<Stream, string, bool, Task> RunC2s, bool ConsiderSecure, int MaxMessageBytes)
{
    public const string DefaultPath = "/xmpp-websocket";

    internal async Task HandleAsync(HttpContext context, Logger log)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            // A browser that opens the URL itself learns what it is for.
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            context.Response.Headers.Upgrade = "websocket";
            await context.Response.WriteAsync("This is an XMPP over WebSocket endpoint (RFC 7395): connect with the 'xmpp' subprotocol.\n");
            return;
        }
        // RFC 7395 §3.1: the client offers the "xmpp" subprotocol and the server selects it.
        if (!context.WebSockets.WebSocketRequestedProtocols.Contains("xmpp"))
        {
            log.Info($"WebSocket from {RemoteIp(context)} without the 'xmpp' subprotocol refused");
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("The 'xmpp' WebSocket subprotocol is required (RFC 7395 §3.1).\n");
            return;
        }
        using var socket = await context.WebSockets.AcceptWebSocketAsync("xmpp");
        var secure = context.Request.IsHttps || ConsiderSecure;
        var bridge = new WebSocketBridge(socket, log, MaxMessageBytes);
        await bridge.RunAsync(stream => RunC2s(stream, RemoteIp(context), secure), context.RequestAborted);
    }

    private static string RemoteIp(HttpContext context)
    {
        var ip = context.Connection.RemoteIpAddress;
        if (ip is null) return "unknown";
        return (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString();
    }
}
