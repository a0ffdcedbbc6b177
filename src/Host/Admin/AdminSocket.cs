using System.Net.Sockets;
using System.Security;
using System.Text;
using LuaXmpp.Logging;

namespace LuaXmpp.Host.Admin;

/// <summary>
/// The admin shell's unix socket, speaking what Prosody 0.12's util.adminstream speaks: the client
/// opens an XML stream (namespace xmpp:prosody.im/admin), we answer with our stream header, then
/// each <c>&lt;repl-input&gt;</c> line gets <c>&lt;repl-output&gt;</c> lines and one
/// <c>&lt;repl-result&gt;</c> (type="error" when it failed). prosodyctl shell and luaxmpp shell both
/// talk to it. The socket file is readable by its owner only.
/// </summary>
public sealed class AdminSocket : IAsyncDisposable
{
    public const string Namespace = "xmpp:prosody.im/admin";
    public const string StreamsNamespace = "http://etherx.jabber.org/streams";

    private readonly Socket _socket;
    private readonly string _path;
    private readonly ShellCommands _commands;
    private readonly CancellationTokenSource _stop = new();
    private readonly Logger _log = Logger.For("admin_socket");
    private readonly Task _accepting;

    public AdminSocket(string path, ShellCommands commands)
    {
        _path = path;
        _commands = commands;
        File.Delete(path);
        _socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _socket.Bind(new UnixDomainSocketEndPoint(path));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _socket.Listen(16);
        _log.Info($"Admin shell listening on {path}");
        _accepting = AcceptAsync();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using var _ = client;
        await using var stream = new NetworkStream(client, ownsSocket: false);
        var frames = new AdminFrames();
        var buffer = new byte[8192];
        try
        {
            while (true)
            {
                int n = await stream.ReadAsync(buffer, _stop.Token);
                if (n == 0) return;
                frames.Append(buffer, n);
                while (frames.Next() is { } frame)
                {
                    switch (frame.Name)
                    {
                        case "stream":
                            await WriteAsync(stream, $"<?xml version='1.0'?><stream:stream xmlns='{Namespace}' xmlns:stream='{StreamsNamespace}' version='1.0' id='{Guid.NewGuid():N}'>");
                            break;
                        case "repl-input":
                            await AnswerAsync(stream, frame.Text);
                            break;
                        case "/stream":
                            await WriteAsync(stream, "</stream:stream>");
                            return;
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            _log.Debug("Admin client went away: " + e.Message);
        }
    }

    private async Task AnswerAsync(Stream stream, string line)
    {
        ShellReply reply;
        try
        {
            reply = await _commands.RunAsync(line);
        }
        catch (Exception e)
        {
            _log.Error($"Admin shell command failed: {line}", e);
            reply = ShellReply.Error($"The command failed: {e.Message}");
        }
        _log.Info($"Admin shell: {line.Trim()} -> {(reply.IsError ? "error: " : "")}{reply.Result}");
        var text = new StringBuilder();
        foreach (var output in reply.Output) text.Append("<repl-output>").Append(SecurityElement.Escape(output)).Append("</repl-output>");
        text.Append(reply.IsError ? "<repl-result type='error'>" : "<repl-result>").Append(SecurityElement.Escape(reply.Result)).Append("</repl-result>");
        await WriteAsync(stream, text.ToString());
    }

    private static async Task WriteAsync(Stream stream, string text)
    {
        await stream.WriteAsync(Encoding.UTF8.GetBytes(text));
        await stream.FlushAsync();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _socket.Dispose();
        await _accepting;
        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
        }
    }
}
