using System.Text;

namespace LuaXmpp.Storage.Internal;

/// <summary>
/// Where util.datamanager keeps a store: <c>DATA/HOST/STORE/USER.dat</c> (keyval) or <c>.list</c>
/// (archive), and <c>DATA/HOST/STORE.dat</c> for the host's own data (no user). Host and user names
/// have every byte that is not an ASCII letter or digit written as <c>%xx</c> (lower-case hex);
/// store names keep '_' as well, since they were historically written unencoded.
/// </summary>
internal sealed class DataPathLayout(string dataPath)
{
    public const string KeyValueExtension = ".dat";
    public const string ListExtension = ".list";

    public string DataPath { get; } = dataPath;

    public string HostDirectory(string host) => Path.Combine(DataPath, Encode(host, keepUnderscore: false));

    public string StoreDirectory(string host, string store) => Path.Combine(HostDirectory(host), Encode(store, keepUnderscore: true));

    public string FileFor(string host, string store, string? user, string extension) => user is null
        ? Path.Combine(HostDirectory(host), Encode(store, keepUnderscore: true) + extension)
        : Path.Combine(StoreDirectory(host, store), Encode(user, keepUnderscore: false) + extension);

    /// <summary>The users with a file of the given extension in a store's directory.</summary>
    public IEnumerable<string> Users(string host, string store, string extension)
    {
        var dir = StoreDirectory(host, store);
        if (!Directory.Exists(dir)) return [];
        return Directory.EnumerateFiles(dir, "*" + extension)
            .Select(Path.GetFileName)
            .Select(name => Decode(name![..^extension.Length]))
            .ToList();
    }

    /// <summary>The stores (decoded directory names) a host has.</summary>
    public IEnumerable<string> Stores(string host)
    {
        var dir = HostDirectory(host);
        if (!Directory.Exists(dir)) return [];
        return Directory.EnumerateDirectories(dir).Select(d => Decode(Path.GetFileName(d))).ToList();
    }

    /// <summary>The hosts (decoded directory names) that have data.</summary>
    public IEnumerable<string> Hosts() => Directory.Exists(DataPath)
        ? Directory.EnumerateDirectories(DataPath).Select(d => Decode(Path.GetFileName(d))).ToList()
        : [];

    public static string Encode(string name, bool keepUnderscore)
    {
        var sb = new StringBuilder(name.Length);
        foreach (byte b in Encoding.UTF8.GetBytes(name))
        {
            if (char.IsAsciiLetterOrDigit((char)b) || (keepUnderscore && b == '_')) sb.Append((char)b);
            else sb.Append('%').Append(b.ToString("x2"));
        }
        return sb.ToString();
    }

    public static string Decode(string name)
    {
        if (!name.Contains('%')) return name;
        var bytes = new List<byte>(name.Length);
        for (int i = 0; i < name.Length; i++)
        {
            if (name[i] == '%' && i + 2 < name.Length
                && char.IsAsciiHexDigit(name[i + 1]) && char.IsAsciiHexDigit(name[i + 2]))
            {
                bytes.Add(Convert.ToByte(name.Substring(i + 1, 2), 16));
                i += 2;
            }
            else bytes.AddRange(Encoding.UTF8.GetBytes(name[i].ToString()));
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }
}
