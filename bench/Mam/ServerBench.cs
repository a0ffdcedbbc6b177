using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using LuaXmpp.Archive;

namespace LuaXmpp.Bench.Mam;

/// <summary>
/// The real server (luaxmpp child process): the delivery latency of other users' messages,
/// first on an idle server, then while ten clients page backwards through a large archive.
/// </summary>
internal static partial class ServerBench
{
    private const string Password = "bench-pw";
    private const int Pairs = 4;
    private const int Readers = 10;

    public static async Task RunAsync(string dir, string serverDll, int archiveSize, int messagesPerPair)
    {
        int port = FreePort();
        var data = Path.Combine(dir, "data");
        Directory.CreateDirectory(data);
        var config = Path.Combine(dir, "prosody.cfg.lua");
        await File.WriteAllTextAsync(config, $$"""
            run_as_root = true
            interfaces = { "127.0.0.1" }
            c2s_ports = { {{port}} }
            c2s_direct_tls_ports = { }
            data_path = "{{data}}"
            c2s_require_encryption = false
            allow_unencrypted_plain_auth = true
            authentication = "internal_plain"
            storage = "sql"
            log = { warn = "{{Path.Combine(dir, "server.log")}}" }
            modules_enabled = { "roster", "saslauth", "disco", "ping", "offline", "mam" }
            VirtualHost "localhost"
            """);
        var users = new List<string> { "big" };
        for (int i = 0; i < Pairs; i++) users.AddRange(["s" + i, "r" + i]);
        foreach (var u in users) await RunAsync(serverDll, config, "register", u, "localhost", Password);

        Console.WriteLine($"== Server: prefill {archiveSize:N0} messages into big@localhost's archive");
        using (var storage = WriterBench.OpenStorage(data))
        {
            await using var service = new ArchiveService(storage.OpenArchive("localhost", "archive"), new ArchiveOptions(), TimeProvider.System);
            var (rate, _) = await WriterBench.FillAsync(service, archiveSize, 1, "big", DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 3600);
            Console.WriteLine($"prefilled at {rate:N0} msg/s");
        }

        using var server = Process.Start(new ProcessStartInfo("dotnet") { ArgumentList = { serverDll, "--config", config }, RedirectStandardOutput = true, RedirectStandardError = true })!;
        server.OutputDataReceived += (_, _) => { };
        server.ErrorDataReceived += (_, _) => { };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        try
        {
            await WaitListeningAsync(port);
            var senders = new List<RawClient>();
            var receivers = new List<RawClient>();
            for (int i = 0; i < Pairs; i++)
            {
                senders.Add(await RawClient.LoginAsync(port, "s" + i, Password, "bench"));
                var r = await RawClient.LoginAsync(port, "r" + i, Password, "bench");
                await r.SendAsync("<presence/>");
                receivers.Add(r);
            }
            await MessagesAsync(senders, receivers, 50, "warm"); // JIT and caches
            var idle = await MessagesAsync(senders, receivers, messagesPerPair, "idle");
            Console.WriteLine($"message latency, idle server:             {idle}");

            // Paced: each reader pages like a client scrolling back (one page every 100 ms);
            // flat out: each asks for the next page as soon as the last arrives (saturation).
            foreach (var (label, pause) in new[] { ("paced, 100 ms between pages", 100), ("flat out", 0) })
            {
                using var stop = new CancellationTokenSource();
                var pages = new Latencies();
                var readers = new List<Task>();
                for (int i = 0; i < Readers; i++)
                {
                    var client = await RawClient.LoginAsync(port, "big", Password, $"reader-{pause}-{i}");
                    readers.Add(PageThroughAsync(client, pages, pause, stop.Token));
                }
                await Task.Delay(500);
                var clock = Stopwatch.StartNew();
                var busy = await MessagesAsync(senders, receivers, messagesPerPair, "busy" + pause);
                stop.Cancel();
                await Task.WhenAll(readers);
                Console.WriteLine($"message latency, {Readers} clients paging MAM ({label}): {busy}");
                Console.WriteLine($"  MAM pages of 50 served meanwhile: {pages.Count / clock.Elapsed.TotalSeconds:N0} pages/s, page latency {pages}");
            }
            foreach (var c in senders.Concat(receivers)) await c.DisposeAsync();
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }

    /// <summary>Each pair sends one message at a time and times its arrival at the receiver.</summary>
    private static async Task<Latencies> MessagesAsync(List<RawClient> senders, List<RawClient> receivers, int perPair, string tag)
    {
        var latencies = new Latencies();
        await Task.WhenAll(Enumerable.Range(0, senders.Count).Select(async i =>
        {
            for (int k = 0; k < perPair; k++)
            {
                string body = $"{tag}-{i}-{k}";
                var clock = Stopwatch.StartNew();
                await senders[i].SendAsync($"<message to='r{i}@localhost' type='chat'><body>{body}</body></message>");
                await receivers[i].WaitForAsync($"<body>{body}</body>");
                latencies.Add(clock.Elapsed);
            }
        }));
        return latencies;
    }

    /// <summary>Pages backwards through the whole archive (50 per page), from the end again when done.</summary>
    private static async Task PageThroughAsync(RawClient client, Latencies pages, int pauseMs, CancellationToken stop)
    {
        string? cursor = null;
        int n = 0;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                string before = cursor is null ? "<before/>" : $"<before>{cursor}</before>";
                var clock = Stopwatch.StartNew();
                await client.SendAsync($"<iq type='set' id='p{++n}'><query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'><max>50</max>{before}</set></query></iq>");
                var text = await client.WaitForAsync("</fin>");
                pages.Add(clock.Elapsed);
                var first = FirstId().Match(text);
                cursor = text.Contains("complete='true'") || !first.Success ? null : first.Groups[1].Value;
                if (pauseMs > 0) await Task.Delay(pauseMs, CancellationToken.None);
            }
        }
        finally
        {
            await client.DisposeAsync();
        }
    }

    [GeneratedRegex("<first(?: [^>]*)?>([^<]+)</first>")]
    private static partial Regex FirstId();

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private static async Task WaitListeningAsync(int port)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            try
            {
                using var c = new TcpClient();
                await c.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(200);
            }
        }
        throw new TimeoutException("server did not listen");
    }

    private static async Task RunAsync(string dll, string config, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(dll);
        psi.ArgumentList.Add("--config");
        psi.ArgumentList.Add(config);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{string.Join(' ', args)}: {await p.StandardError.ReadToEndAsync()}");
    }
}
