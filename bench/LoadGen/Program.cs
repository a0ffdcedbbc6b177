using LuaXmpp.Bench.LoadGen;
using LuaXmpp.Bench.LoadGen.Measure;
using LuaXmpp.Bench.LoadGen.Scenarios;

// luaxmpp-loadgen SCENARIO [--flags]: runs one scenario against a server on 127.0.0.1 and
// prints one JSON line plus a human summary. See docs/PERFORMANCE.md for the flags.
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine("""
        usage: luaxmpp-loadgen register|login|chat|resume|mam|webchat [flags]
          common:   --port 5222 --host localhost --pid SERVER_PID --label NAME --prefix bench
                    --password bench-password --sasl plain|scram --starttls --concurrency 50
                    --timeout SECONDS (whole scenario, default 300)
          register: --users 200
          login:    --clients 200 --smacks --idle 3
          chat:     --pairs 20 --duration 10 --warmup 2 --rate MSGS_PER_S (0 = max) --window 16 --smacks --drain 5 --type chat|headline
                    --port2 PORT --host2 DOMAIN --pid2 PID (receivers on a second, federated server)
          resume:   --sessions 50 --before 20 --queued 100 --trace (one line per resume on stderr)
          mam:      --messages 5000 --page 50 --repeats 50 --window 32
          webchat:  --transport websocket|bosh --url URL --pairs 20 --duration 10 --warmup 2 --window 16
        """);
    return 2;
}

var options = new Options(args.Skip(1));
var label = options.String("label", "server");
using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(options.Double("timeout", 300)));
Func<Options, string, CancellationToken, Task<Report>> scenario = args[0] switch
{
    "register" => RegisterScenario.RunAsync,
    "login" => LoginScenario.RunAsync,
    "chat" => ChatScenario.RunAsync,
    "resume" => ResumeScenario.RunAsync,
    "mam" => MamScenario.RunAsync,
    "webchat" => WebChatScenario.RunAsync,
    _ => throw new ArgumentException("unknown scenario " + args[0]),
};

try
{
    var report = await scenario(options, label, timeout.Token);
    report.Print(Console.Out);
    return 0;
}
catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException or TimeoutException)
{
    new Report(args[0], label).Add("error", e.GetType().Name + ": " + e.Message).Print(Console.Out);
    return 1;
}
