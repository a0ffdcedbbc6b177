using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;

namespace LuaXmpp.Bench.LoadGen.Web;

/// <summary>RFC 7395: one text message per element, &lt;open/&gt; for the stream header.</summary>
public sealed class WebSocketClient(Uri url) : WebClient
{
    private const string Framing = "urn:ietf:params:xml:ns:xmpp-framing";
    private readonly ClientWebSocket _socket = new();
    private readonly Channel<string> _login = Channel.CreateUnbounded<string>();
    private readonly SemaphoreSlim _sending = new(1, 1);
    private Task? _reader;
    private bool _loggedIn;

    public override async Task LoginAsync(string host, string user, string password, CancellationToken cancel)
    {
        _socket.Options.AddSubProtocol("xmpp");
        await _socket.ConnectAsync(url, cancel);
        _reader = ReadLoopAsync(cancel);
        await SendAsync($"<open xmlns='{Framing}' to='{host}' version='1.0'/>", cancel);
        await ExpectAsync("<stream:features", "<features", cancel);
        await SendAsync(PlainAuth(user, password), cancel);
        await ExpectAsync("<success", "<success", cancel);
        await SendAsync($"<open xmlns='{Framing}' to='{host}' version='1.0'/>", cancel);
        await ExpectAsync("<stream:features", "<features", cancel);
        await SendAsync(Bind, cancel);
        string bound;
        do bound = await _login.Reader.ReadAsync(cancel); while (BoundJid(bound) is null);
        FullJid = BoundJid(bound)!;
        _loggedIn = true;
    }

    private async Task ExpectAsync(string a, string b, CancellationToken cancel)
    {
        while (true)
        {
            var element = await _login.Reader.ReadAsync(cancel);
            if (element.StartsWith(a, StringComparison.Ordinal) || element.StartsWith(b, StringComparison.Ordinal)) return;
            if (element.Contains("failure") || element.StartsWith("<stream:error", StringComparison.Ordinal) || element.StartsWith("<close", StringComparison.Ordinal))
                throw new IOException("login failed: " + element);
        }
    }

    public override async ValueTask SendAsync(string stanzas, CancellationToken cancel)
    {
        await _sending.WaitAsync(cancel);
        try
        {
            await _socket.SendAsync(Encoding.UTF8.GetBytes(stanzas), WebSocketMessageType.Text, true, cancel);
        }
        finally
        {
            _sending.Release();
        }
    }

    private async Task ReadLoopAsync(CancellationToken cancel)
    {
        var buffer = new byte[64 * 1024];
        var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var result = await _socket.ReceiveAsync(buffer, cancel);
                if (result.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage) continue;
                var text = Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length);
                message.SetLength(0);
                if (_loggedIn) Received?.Invoke(text);
                else _login.Writer.TryWrite(text);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
        }
        _login.Writer.TryComplete();
    }

    public override async ValueTask DisposeAsync()
    {
        try
        {
            using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            if (_socket.State == WebSocketState.Open)
            {
                await SendAsync($"<close xmlns='{Framing}'/>", quick.Token);
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", quick.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
        }
        _socket.Abort();
        if (_reader is not null) await _reader.ContinueWith(_ => { }, TaskScheduler.Default);
        _socket.Dispose();
    }
}
