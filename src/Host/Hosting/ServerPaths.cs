using LuaXmpp.Configuration;

namespace LuaXmpp.Host.Hosting;

/// <summary>
/// Where things live, resolved as Prosody resolves them: relative paths in the config are taken
/// from the config file's directory.
/// </summary>
public sealed record ServerPaths(string ConfigDirectory, string DataPath, string CertificatesPath)
{
    public static ServerPaths From(ServerConfig config, string configDirectory) => new(
        configDirectory,
        Resolve(configDirectory, config.GetString(null, "data_path") ?? "data"),
        Resolve(configDirectory, config.GetString(null, "certificates") ?? "certs"));

    public static string Resolve(string baseDirectory, string path) =>
        Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(baseDirectory, path));
}
