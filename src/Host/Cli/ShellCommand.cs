using System.Net.Sockets;
using System.Security;
using System.Text;
using LuaXmpp.Host.Admin;
using LuaXmpp.Host.Hosting;

namespace LuaXmpp.Host.Cli;

/// <summary>
/// luaxmpp shell [COMMAND...]: the admin shell of the running server over its unix socket, as
/// prosodyctl shell: one command from the arguments ("module load ping example.com" becomes
/// module:load("ping", "example.com")), else a console reading lines from stdin.
/// </summary>
public static class ShellCommand
{
    public static async Task<int> RunAsync(CommandContext context, string[] args)
    {
        var path = AdminSocketPath(context);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException e)
        {
            context.Stderr.WriteLine($"Error: cannot reach the admin shell at {path} ({e.Message}): is the server running with \"admin_shell\" in modules_enabled?");
            return ExitCodes.Failed;
        }
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await WriteAsync(stream, $"<?xml version='1.0'?><stream:stream xmlns='{AdminSocket.Namespace}' xmlns:stream='{AdminSocket.StreamsNamespace}' version='1.0'>");
        var reader = new FrameReader(stream);
        if (await reader.NextAsync(f => f.Name == "stream") is null)
        {
            context.Stderr.WriteLine($"Error: the admin socket at {path} did not answer with a stream");
            return ExitCodes.Failed;
        }
        if (args.Length > 0) return await OneAsync(context, stream, reader, Line(args), interactive: false) ? ExitCodes.Ok : ExitCodes.Failed;

        context.Stdout.WriteLine("LuaXmpp admin shell. Commands: help; leave with quit or end of input.");
        while (true)
        {
            context.Stdout.Write("luaxmpp> ");
            context.Stdout.Flush();
            var line = context.Stdin.ReadLine();
            if (line is null or "quit" or "exit" or "bye") break;
            if (line.Trim().Length == 0) continue;
            await OneAsync(context, stream, reader, line, interactive: true);
        }
        await WriteAsync(stream, "</stream:stream>");
        return ExitCodes.Ok;
    }

    // As prosodyctl: several words are section, command and quoted arguments.
    private static string Line(string[] args) => args.Length == 1 ? args[0]
        : $"{args[0]}:{args[1]}({string.Join(", ", args.Skip(2).Select(a => "\"" + a.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\""))})";

    private static async Task<bool> OneAsync(CommandContext context, Stream stream, FrameReader reader, string line, bool interactive)
    {
        await WriteAsync(stream, $"<repl-input>{SecurityElement.Escape(line)}</repl-input>");
        while (await reader.NextAsync(f => f.Name is "repl-output" or "repl-result") is { } frame)
        {
            var name = frame.Name;
            var isError = frame.Type == "error";
            var text = frame.Text;
            var prefix = interactive ? (isError ? "! " : "| ") : "";
            if (text.Length > 0 || name == "repl-output") (isError && !interactive ? context.Stderr : context.Stdout).WriteLine(prefix + text);
            if (name == "repl-result") return !isError;
        }
        context.Stderr.WriteLine("Error: the server closed the admin connection");
        return false;
    }

    private sealed class FrameReader(Stream stream)
    {
        private readonly AdminFrames _frames = new();
        private readonly byte[] _buffer = new byte[8192];

        public async Task<AdminFrames.Frame?> NextAsync(Func<AdminFrames.Frame, bool> match)
        {
            while (true)
            {
                while (_frames.Next() is { } frame)
                {
                    if (match(frame)) return frame;
                }
                int n = await stream.ReadAsync(_buffer);
                if (n == 0) return null;
                _frames.Append(_buffer, n);
            }
        }
    }

    private static async Task WriteAsync(Stream stream, string text)
    {
        await stream.WriteAsync(Encoding.UTF8.GetBytes(text));
        await stream.FlushAsync();
    }

    /// <summary>Where mod_admin_socket puts it: admin_socket, relative to data_path; default prosody.sock.</summary>
    public static string AdminSocketPath(CommandContext context) =>
        AdminSocketPath(context.Config, ServerPaths.From(context.Config, context.ConfigDirectory));

    public static string AdminSocketPath(Configuration.ServerConfig config, ServerPaths paths) =>
        ServerPaths.Resolve(paths.DataPath, config.GetString(null, "admin_socket") ?? "prosody.sock");
}
