using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Text;
using LuaXmpp.Logging;

namespace LuaXmpp.Host.Http;

/// <summary>
/// XMPP over WebSocket (RFC 7395) as a c2s transport: the socket's messages are translated into
/// a plain XMPP stream that an ordinary c2s connection reads, and that connection's output is
/// cut back into one message per element. So a WebSocket session is a c2s session like any
/// other (SASL, bind, XEP-0198, MAM, filters), with TLS from the HTTP layer.
/// </summary>
internal sealed class WebSocketBridge(WebSocket socket, Logger log, int maxMessageBytes)
{
    private readonly Pipe _toServer = new();
    private readonly Pipe _fromServer = new();

    /// <summary>Runs until either side ends; <paramref name="runConnection"/> gets the stream the c2s connection uses.</summary>
    public async Task RunAsync(Func<Stream, Task> runConnection, CancellationToken aborted)
    {
        var stream = new DuplexStream(_toServer.Reader.AsStream(), _fromServer.Writer.AsStream());
        var connection = runConnection(stream);
        var outbound = PumpOutboundAsync(aborted);
        try
        {
            await PumpInboundAsync(aborted);
        }
        finally
        {
            await _toServer.Writer.CompleteAsync();
        }
        await connection;
        await outbound;
    }

    private async Task PumpInboundAsync(CancellationToken aborted)
    {
        var buffer = new byte[16 * 1024];
        var message = new MemoryStream();
        while (socket.State == WebSocketState.Open)
        {
            WebSocketReceiveResult result;
            try
            {
                result = await socket.ReceiveAsync(buffer, aborted);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
                return;
            }
            if (result.MessageType == WebSocketMessageType.Close) return;
            if (result.MessageType == WebSocketMessageType.Binary)
            {
                // RFC 7395 §3.2: XMPP goes in text messages only.
                await CloseAsync(WebSocketCloseStatus.InvalidMessageType, "XMPP over WebSocket uses text messages");
                return;
            }
            message.Write(buffer, 0, result.Count);
            if (message.Length > maxMessageBytes)
            {
                log.Warn($"WebSocket message over {maxMessageBytes} bytes; closing");
                await CloseAsync(WebSocketCloseStatus.MessageTooBig, "Message too big");
                return;
            }
            if (!result.EndOfMessage) continue;
            var text = XmppFraming.FromClient(Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length), out var closed);
            message.SetLength(0);
            if (text is not null) await _toServer.Writer.WriteAsync(Encoding.UTF8.GetBytes(text), aborted);
            if (closed) return;
        }
    }

    private async Task PumpOutboundAsync(CancellationToken aborted)
    {
        var splitter = new StreamUnitSplitter();
        var reader = _fromServer.Reader;
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync(aborted);
                foreach (var segment in read.Buffer) splitter.Feed(segment.Span);
                reader.AdvanceTo(read.Buffer.End);
                while (splitter.TryTake(out var kind, out var unit))
                {
                    var text = kind switch
                    {
                        StreamUnitSplitter.Kind.Header => XmppFraming.OpenFor(unit),
                        StreamUnitSplitter.Kind.End => XmppFraming.Close,
                        _ => XmppFraming.Standalone(unit),
                    };
                    await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, aborted);
                    if (kind == StreamUnitSplitter.Kind.End)
                    {
                        await CloseAsync(WebSocketCloseStatus.NormalClosure, "");
                        return;
                    }
                }
                if (read.IsCompleted) break;
            }
            await CloseAsync(WebSocketCloseStatus.NormalClosure, "");
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    private async Task CloseAsync(WebSocketCloseStatus status, string description)
    {
        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await socket.CloseOutputAsync(status, description, timeout.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }
}
