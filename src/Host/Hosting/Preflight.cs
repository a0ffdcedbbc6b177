using System.Net;
using System.Net.Sockets;
using LuaXmpp.Configuration;
using LuaXmpp.Host.Cli;
using LuaXmpp.Tls;

namespace LuaXmpp.Host.Hosting;

/// <summary>
/// What must hold before the server (or an account command) can run, checked the same way by
/// <c>check config</c> and at start: ports and interfaces that parse, a data_path that is a
/// writable directory, configured certificates that exist. Each failure is one line naming the
/// option with its exit code (see README "Exit codes").
/// </summary>
public static class Preflight
{
    /// <summary>Option values that are wrong in themselves, and the listening endpoints when they are right.</summary>
    public static IReadOnlyList<ListenEndpoint> Listeners(ServerConfig config, List<OperatorError> errors)
    {
        var endpoints = ListenerOptions.C2s(config, out var error);
        if (error is not null) errors.Add(new(error, ExitCodes.BadConfig));
        return endpoints;
    }

    /// <summary>
    /// data_path: a directory in which we can create files. With <paramref name="create"/> it is
    /// created when missing; without (check config) the nearest existing parent is probed instead.
    /// </summary>
    public static void DataPath(ServerPaths paths, List<OperatorError> errors, bool create = true)
    {
        var path = paths.DataPath;
        if (File.Exists(path))
        {
            errors.Add(new($"data_path: {path} is a file, not a directory", ExitCodes.BadConfig));
            return;
        }
        var probeIn = path;
        if (!create)
        {
            while (!Directory.Exists(probeIn) && Path.GetDirectoryName(probeIn) is { } parent)
            {
                if (File.Exists(parent))
                {
                    errors.Add(new($"data_path: {path} cannot be created: {parent} is a file", ExitCodes.BadConfig));
                    return;
                }
                probeIn = parent;
            }
        }
        var probe = Path.Combine(probeIn, $".luaxmpp-write-test-{Environment.ProcessId}");
        try
        {
            if (create) Directory.CreateDirectory(path);
            using (File.Create(probe, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errors.Add(new($"data_path: {path} is not writable: {Reason(e)}", ExitCodes.Unusable));
        }
    }

    /// <summary>Certificates named by ssl = { certificate, key } (global or per host) that are missing or unreadable.</summary>
    public static void Certificates(ServerConfig config, ServerPaths paths, List<OperatorError> errors)
    {
        var sections = new List<string?> { null };
        sections.AddRange(config.Hosts.Where(h => h.Enabled && h.Kind == HostKind.VirtualHost).Select(h => h.Name));
        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var host in sections)
        {
            if (config.Get(host, "ssl") is not ConfigTable ssl) continue;
            var where = host is null ? "ssl" : $"ssl of {host}";
            foreach (var field in new[] { "certificate", "key" })
            {
                if (ConfigValues.AsString(ssl[field]) is not { } file) continue;
                var full = ServerPaths.Resolve(paths.ConfigDirectory, file);
                if (!reported.Add(full)) continue;
                if (Unreadable(full) is { } why) errors.Add(new($"{where}.{field}: {full}: {why}", ExitCodes.Unusable));
            }
            if (ConfigValues.AsString(ssl["certificate"]) is not null && ConfigValues.AsString(ssl["key"]) is null)
                errors.Add(new($"{where}.key: no key file configured next to the certificate", ExitCodes.BadConfig));
        }
    }

    /// <summary>Endpoints some other process listens on already (a check only: the listener itself refuses them at start).</summary>
    public static IEnumerable<string> PortsInUse(IEnumerable<ListenEndpoint> endpoints)
    {
        foreach (var endpoint in endpoints)
        {
            using var socket = new Socket(endpoint.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            string? problem = null;
            try
            {
                socket.Bind(endpoint.EndPoint);
            }
            catch (SocketException e)
            {
                problem = InUse(endpoint, e);
            }
            if (problem is not null) yield return problem;
        }
    }

    /// <summary>The one line for a port the listener could not bind.</summary>
    public static string InUse(ListenEndpoint endpoint, SocketException e) => e.SocketErrorCode switch
    {
        SocketError.AddressAlreadyInUse => $"{endpoint.Option}: port {endpoint.EndPoint.Port} on {endpoint.EndPoint.Address} is already in use (is another server running?)",
        SocketError.AccessDenied => $"{endpoint.Option}: port {endpoint.EndPoint.Port} on {endpoint.EndPoint.Address} needs privileges this process does not have",
        SocketError.AddressNotAvailable => $"{endpoint.Option}: address {endpoint.EndPoint.Address} (interfaces) is not an address of this machine",
        _ => $"{endpoint.Option}: cannot listen on port {endpoint.EndPoint.Port} on {endpoint.EndPoint.Address}: {e.Message}",
    };

    private static string? Unreadable(string path)
    {
        if (Directory.Exists(path)) return "is a directory, not a file";
        try
        {
            using var _ = File.OpenRead(path);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Reason(e);
        }
    }

    private static string Reason(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "no such file or directory",
        UnauthorizedAccessException => "permission denied",
        _ => e.Message,
    };
}
