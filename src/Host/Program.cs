using LuaXmpp.Host.Cli;

namespace LuaXmpp.Host;

public static class Program
{
    public static Task<int> Main(string[] args) => CommandLine.RunAsync(args, Console.In, Console.Out, Console.Error);
}
