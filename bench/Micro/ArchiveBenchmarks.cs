using BenchmarkDotNet.Attributes;
using LuaXmpp.Configuration;
using LuaXmpp.Storage;
using LuaXmpp.Xml;

namespace LuaXmpp.Bench.Micro;

/// <summary>
/// One message appended to a user's archive in SQLite (Prosody's prosodyarchive table), the
/// way mod_mam stores it, on a file database in the temp directory (WAL, as the server runs it).
/// </summary>
[MemoryDiagnoser]
public class ArchiveBenchmarks
{
    private string _directory = null!;
    private StorageManager _storage = null!;
    private IArchiveStore _archive = null!;
    private XmlElement _message = null!;
    private long _when = 1_700_000_000;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("luaxmpp-micro-").FullName;
        var sql = new ConfigTable();
        sql.Hash["driver"] = "SQLite3";
        sql.Hash["database"] = "archive.sqlite";
        var config = ServerConfig.Create(new Dictionary<string, object?> { ["storage"] = "sql", ["sql"] = sql }, "localhost");
        _storage = new StorageManager(config, _directory);
        _archive = _storage.OpenArchive("localhost", "archive");
        _message = new XmlElement("message", "jabber:client")
            .SetAttribute("to", "juliet@localhost/balcony").SetAttribute("from", "romeo@localhost/orchard")
            .SetAttribute("type", "chat").SetAttribute("id", "m1");
        _message.AddTextChild("body", "Art thou not Romeo, and a Montague? Neither, fair saint, if either thee dislike.");
    }

    [Benchmark]
    public string AppendMessage() =>
        _archive.AppendAsync("romeo", null, _message, _when++, "juliet@localhost").GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup()
    {
        _storage.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
