using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace LuaXmpp.Tests.Architecture;

/// <summary>
/// src/Core's folders (each its own namespace, LuaXmpp.Folder) form layers: a folder may use
/// folders of lower layers only, so there is no import cycle and each layer can be read, tested
/// and changed without the ones above it. docs/ARCHITECTURE.md ("Layers") draws the same table.
/// </summary>
public sealed partial class LayeringTests
{
    /// <summary>
    /// Lowest first. A folder may depend on folders of strictly lower layers. A new folder must be
    /// placed here, or the test fails.
    /// </summary>
    private static readonly string[][] CoreLayers =
    [
        // 0 primitives: logging, counters, the config model, XML elements and the stream parser,
        // thread priority for background threads
        ["Logging", "Metrics", "Configuration", "Xml", "Threading"],
        // 1 XMPP primitives: JIDs, stanza errors, the session a stanza comes from or goes to
        ["Xmpp"],
        // 2 services: the loop, TLS contexts, storage drivers, the event bus (Prosody's util.events)
        ["Loop", "Tls", "Storage", "Events"],
        // 3 transport and what sits on storage: connections, accounts, hosts
        ["Network", "Accounts", "Hosts"],
        // 4 stream: client sessions and their registry, XEP-0198 state, SASL mechanisms
        ["Sessions", "Sasl"],
        // 5 routing: core_process_stanza / core_post_stanza / core_route_stanza
        ["Routing"],
        // 6 c2s streams: on the hosts, the config, the session registry and the router, not the server
        ["C2s"],
        // 7 the server: prosody's global state (IProsody, XmppServer) and the module manager
        ["Hosting"],
        // 8 protocols and core services over the server: components, rosters, the archive (MAM's
        // writer, queries and message hooks), HTTP glue
        ["Components", "Roster", "Archive", "Http"],
        // 9 features: native modules and s2s federation
        ["Modules", "S2s"],
    ];

    [Fact]
    public void Core_FoldersHaveNoImportCycles()
    {
        var graph = CoreGraph();
        var cycles = Cycles(graph.Edges.Keys.Select(e => (e.From, e.To)));
        Assert.True(cycles.Count == 0,
            "Import cycles among src/Core folders:\n" + string.Join("\n", cycles.Select(c => "  " + string.Join(" -> ", c) + " -> " + c[0]))
            + "\n" + Describe(graph, graph.Edges.Keys.Where(e => cycles.Any(c => c.Contains(e.From) && c.Contains(e.To)))));
    }

    [Fact]
    public void Core_EveryFolderUsesOnlyLowerLayers()
    {
        var graph = CoreGraph();
        var layerOf = LayerOf();
        var unplaced = graph.Folders.Where(f => !layerOf.ContainsKey(f)).ToArray();
        Assert.True(unplaced.Length == 0, "Folders of src/Core missing from LayeringTests.CoreLayers: " + string.Join(", ", unplaced));
        var upward = graph.Edges.Keys.Where(e => layerOf[e.To] >= layerOf[e.From]).ToArray();
        Assert.True(upward.Length == 0, "Edges that do not go to a lower layer:\n" + Describe(graph, upward));
    }

    [Fact]
    public void Core_LayerTableNamesOnlyExistingFolders()
    {
        var folders = CoreGraph().Folders;
        var unknown = CoreLayers.SelectMany(l => l).Where(f => !folders.Contains(f)).ToArray();
        Assert.True(unknown.Length == 0, "LayeringTests.CoreLayers names folders src/Core does not have: " + string.Join(", ", unknown));
    }

    /// <summary>
    /// Known exceptions to <see cref="XmppServer_IsNamedOnlyByItselfAndTheHost"/>, each with its
    /// reason: a path relative to the repository root. None today.
    /// </summary>
    private static readonly Dictionary<string, string> XmppServerExceptions = new(StringComparer.Ordinal);

    /// <summary>
    /// XmppServer is the composition's object: src/Host builds it and hands it on as interfaces;
    /// in src/Core and src/LuaBridge only its own file names it. Everything else takes narrow
    /// interfaces: c2s, components and s2s the hosts (<c>IHostDirectory</c>), the config
    /// (<c>IConfigManager</c>), the session registry and the router; the module manager, native
    /// modules and the Lua bridge the <c>prosody</c> global (<c>IProsody</c>).
    /// </summary>
    [Fact]
    public void XmppServer_IsNamedOnlyByItselfAndTheHost()
    {
        var root = RepoRoot();
        var own = Path.Combine("src", "Core", "Hosting", "XmppServer.cs");
        var offenders = new[] { Path.Combine(root, "src", "Core"), Path.Combine(root, "src", "LuaBridge") }
            .SelectMany(dir => Directory.GetFiles(dir, "*.cs", SearchOption.AllDirectories))
            .Select(p => Path.GetRelativePath(root, p))
            .Where(p => p != own && !IsBuildOutput(p))
            .Where(p => !XmppServerExceptions.ContainsKey(p.Replace('\\', '/')))
            .Where(p => NamesXmppServer(File.ReadAllText(Path.Combine(root, p))))
            .Order()
            .ToArray();
        Assert.True(offenders.Length == 0,
            "These files name XmppServer; take IProsody or the narrow interfaces (IHostDirectory, IConfigManager, SessionManager, StanzaRouter) instead:\n  "
            + string.Join("\n  ", offenders));
    }

    [Fact]
    public void XmppServerScan_SeesCodeNotCommentsOrStrings()
    {
        Assert.True(NamesXmppServer("public C(XmppServer server) { }"));
        Assert.True(NamesXmppServer("var s = (Hosting.XmppServer)x;"));
        Assert.False(NamesXmppServer("/// <see cref=\"XmppServer\"/> builds it\nvar s = \"XmppServer\"; // XmppServer"));
        Assert.False(NamesXmppServer("IXmppServerLike x; XmppServerish y;"));
    }

    private static bool IsBuildOutput(string path) =>
        path.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj");

    private static bool NamesXmppServer(string text) =>
        text.Split('\n').Any(raw => XmppServerName().IsMatch(LineComment().Replace(StringLiteral().Replace(raw, "\"\""), "")));

    /// <summary>The assemblies: Core references no other project, LuaBridge only Core; the host composes both.</summary>
    [Theory]
    [InlineData("src/Core/LuaXmpp.Core.csproj", new string[0])]
    [InlineData("src/LuaBridge/LuaXmpp.LuaBridge.csproj", new[] { "LuaXmpp.Core" })]
    public void Projects_ReferenceOnlyLowerProjects(string project, string[] allowed)
    {
        var references = XDocument.Load(Path.Combine(RepoRoot(), project))
            .Descendants("ProjectReference")
            .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/')))
            .ToArray();
        Assert.Empty(references.Except(allowed));
    }

    [Fact]
    public void Graph_SeesUsingsAndQualifiedNames()
    {
        // The scanner the tests above trust: usings, fully and partially qualified names count,
        // comments, strings and namespace declarations do not.
        var types = new Dictionary<string, HashSet<string>> { ["Roster"] = ["Roster"], ["Xml"] = ["XmlElement"], ["Loop"] = ["ServerLoop"] };
        var found = ReferencedFolders("""
            using LuaXmpp.Loop;
            namespace LuaXmpp.Modules;
            // LuaXmpp.Storage in a comment
            var s = "LuaXmpp.Tls in a string";
            Roster.Roster r = new LuaXmpp.Xml.XmlElement("a");
            session.Roster.Count;
            """, types);
        Assert.Equal(["Loop", "Roster", "Xml"], found.Order());
    }

    private sealed record Edge(string From, string To);

    private sealed record Graph(HashSet<string> Folders, Dictionary<Edge, List<string>> Edges);

    private static Dictionary<string, int> LayerOf()
    {
        var layerOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < CoreLayers.Length; i++)
        {
            foreach (var folder in CoreLayers[i]) layerOf[folder] = i;
        }
        return layerOf;
    }

    private static Graph CoreGraph()
    {
        var core = Path.Combine(RepoRoot(), "src", "Core");
        var files = Directory.GetDirectories(core)
            .Select(Path.GetFileName)
            .Where(f => f is not ("bin" or "obj"))
            .ToDictionary(f => f!, f => Directory.GetFiles(Path.Combine(core, f!), "*.cs", SearchOption.AllDirectories)
                .Select(p => (Path: Path.GetRelativePath(core, p), Text: File.ReadAllText(p)))
                .ToArray());
        var types = files.ToDictionary(kv => kv.Key,
            kv => kv.Value.SelectMany(f => TypeDeclaration().Matches(f.Text).Select(m => m.Groups["name"].Value)).ToHashSet(StringComparer.Ordinal));
        var edges = new Dictionary<Edge, List<string>>();
        foreach (var (folder, sources) in files)
        {
            foreach (var (path, text) in sources)
            {
                foreach (var to in ReferencedFolders(text, types).Where(t => t != folder))
                {
                    var edge = new Edge(folder, to);
                    if (!edges.TryGetValue(edge, out var list)) edges[edge] = list = new();
                    list.Add(path);
                }
            }
        }
        return new Graph(files.Keys.ToHashSet(StringComparer.Ordinal), edges);
    }

    /// <summary>
    /// The folders a source file refers to: <c>using LuaXmpp.X</c>, any <c>LuaXmpp.X.</c> name, and
    /// names qualified from the enclosing LuaXmpp namespace (<c>X.Type</c> where Type is declared in X).
    /// </summary>
    private static HashSet<string> ReferencedFolders(string text, IReadOnlyDictionary<string, HashSet<string>> types)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = LineComment().Replace(StringLiteral().Replace(raw, "\"\""), "").Trim();
            if (line.StartsWith("namespace ", StringComparison.Ordinal)) continue;
            foreach (Match m in QualifiedName().Matches(line))
            {
                var folder = m.Groups["folder"].Value;
                var rooted = m.Groups["root"].Success;
                if (!types.TryGetValue(folder, out var declared)) continue;
                if (rooted || declared.Contains(m.Groups["type"].Value)) found.Add(folder);
            }
        }
        return found;
    }

    private static string Describe(Graph graph, IEnumerable<Edge> edges) =>
        string.Join("\n", edges.OrderBy(e => e.From).ThenBy(e => e.To)
            .Select(e => $"  {e.From} -> {e.To}: {string.Join(", ", graph.Edges[e].Distinct().Order().Take(6))}{(graph.Edges[e].Count > 6 ? ", ..." : "")}"));

    /// <summary>Strongly connected components of more than one folder (Tarjan), each as a list.</summary>
    private static List<List<string>> Cycles(IEnumerable<(string From, string To)> edges)
    {
        var next = edges.GroupBy(e => e.From).ToDictionary(g => g.Key, g => g.Select(e => e.To).Distinct().Order().ToList());
        var nodes = next.Keys.Concat(next.Values.SelectMany(v => v)).Distinct().Order().ToList();
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var result = new List<List<string>>();
        void Visit(string v)
        {
            index[v] = low[v] = index.Count;
            stack.Push(v);
            foreach (var w in next.GetValueOrDefault(v) ?? [])
            {
                if (!index.ContainsKey(w))
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (stack.Contains(w))
                {
                    low[v] = Math.Min(low[v], index[w]);
                }
            }
            if (low[v] != index[v]) return;
            var component = new List<string>();
            string x;
            do
            {
                x = stack.Pop();
                component.Add(x);
            }
            while (x != v);
            if (component.Count > 1) result.Add(component.Order().ToList());
        }
        foreach (var n in nodes.Where(n => !index.ContainsKey(n))) Visit(n);
        return result;
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LuaXmpp.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("LuaXmpp.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"\b(?:class|struct|record|interface|enum|delegate\s+[\w<>\[\]?,. ]+?)\s+(?<name>[A-Z]\w*)")]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"(?<root>\bLuaXmpp\.)(?<folder>[A-Z]\w*)|(?<![\w.])(?<folder>[A-Z]\w*)\.(?<type>[A-Z]\w*)")]
    private static partial Regex QualifiedName();

    [GeneratedRegex(@"""(?:\\.|[^""\\])*""")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"\bXmppServer\b")]
    private static partial Regex XmppServerName();

    [GeneratedRegex(@"//.*$")]
    private static partial Regex LineComment();
}
