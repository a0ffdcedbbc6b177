using Xunit.Sdk;

namespace LuaXmpp.Tests.ProsodyModules;

/// <summary>
/// A temporary plugin_paths directory holding copies of module files from the Debian prosody
/// package, taken unmodified at test time (they are never part of this repository).
/// </summary>
public sealed class ProsodyPluginDirectory : IDisposable
{
    public const string PackageModules = "/usr/lib/prosody/modules";

    private ProsodyPluginDirectory(string path) => Path = path;

    public string Path { get; }

    /// <summary>Copies each named entry (a file like <c>mod_ping.lua</c> or a directory like <c>adhoc</c>).</summary>
    public static ProsodyPluginDirectory With(params string[] entries)
    {
        var directory = new ProsodyPluginDirectory(Directory.CreateTempSubdirectory("luaxmpp-plugins-").FullName);
        foreach (var entry in entries)
        {
            var source = System.IO.Path.Combine(PackageModules, entry);
            var target = System.IO.Path.Combine(directory.Path, entry);
            if (Directory.Exists(source))
            {
                Directory.CreateDirectory(target);
                foreach (var file in Directory.GetFiles(source)) File.Copy(file, System.IO.Path.Combine(target, System.IO.Path.GetFileName(file)));
            }
            else if (File.Exists(source))
            {
                File.Copy(source, target);
            }
            else
            {
                throw new XunitException($"{source} is missing: the Debian prosody package must be installed");
            }
        }
        return directory;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // The server may still hold a file open while it stops; temp dirs are cleaned by the OS.
        }
    }
}
