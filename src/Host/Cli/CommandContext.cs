using LuaXmpp.Configuration;

namespace LuaXmpp.Host.Cli;

/// <summary>What every command gets: the loaded config and the console.</summary>
public sealed record CommandContext(ServerConfig Config, TextReader Stdin, TextWriter Stdout, TextWriter Stderr)
{
    /// <summary>The directory relative paths in the config are resolved against.</summary>
    public string ConfigDirectory => Path.GetDirectoryName(Config.Path) ?? Directory.GetCurrentDirectory();
}
