using System.Diagnostics;

namespace LuaXmpp.Tests.Libraries;

/// <summary>
/// Our <c>lxp.lom</c> against LuaExpat's own (Debian's lua-expat, run by lua5.4): the same
/// documents give the same trees (dumped as text with attribute order kept), and the same
/// documents are refused (the messages are expat's own, so only the refusal is compared).
/// </summary>
public sealed class LxpLomTests : LuaTestState, IDisposable
{
    private const string Dump = """
        local lom = require "lxp.lom"
        local function show(v)
          if type(v) == "string" then return (("%q"):format(v):gsub("[\128-\255]", function(c) return "\\" .. c:byte() end)) end
          if type(v) ~= "table" then return type(v) .. ":" .. tostring(v) end
          local out = { "tag=" .. show(v.tag) }
          local names = {}
          for i, name in ipairs(v.attr) do names[i] = name .. "=" .. show(v.attr[name]) end
          local count = 0
          for k in pairs(v.attr) do count = count + 1 end
          out[#out + 1] = "attr{" .. table.concat(names, ",") .. "}#" .. count
          for _, child in ipairs(v) do out[#out + 1] = show(child) end
          return "{" .. table.concat(out, " ") .. "}"
        end
        local lines = {}
        for i, doc in ipairs(DOCS) do
          local tree, err = lom.parse(doc)
          lines[i] = tree and show(tree) or ("refused " .. type(err))
        end
        local tree = lom.parse({ "<a><b x='1'/>te", "xt<c/><b y='2'>in</b></a>" })
        lines[#lines + 1] = "chunks " .. show(tree)
        lines[#lines + 1] = "find " .. show(lom.find_elem(tree, "c"))
        local seen = {}
        for child in lom.list_children(tree, "b") do seen[#seen + 1] = show(child) end
        lines[#lines + 1] = "list " .. table.concat(seen, ";")
        return table.concat(lines, "\n")
        """;

    private static readonly string[] Documents =
    [
        "<item time='12:00:01' utc='2026-12-07T12:00:01Z'><message xmlns='jabber:client' from='room@muc.example/nick' type='groupchat'><body>Hello &amp; &lt;welcome&gt; &#x263A;</body></message></item>",
        "<?xml version='1.0' encoding='UTF-8'?>\n<root a=\"1\" b='two' xmlns:x='urn:x'>\n  text <x:child x:attr='v'/>more<![CDATA[<raw>]]>tail<!-- note --><?pi data?>\n</root>\n",
        "<empty/>",
        "<a>line1\r\nline2</a>",
        "<a><b></a>",
        "<a></a><b/>",
        "text only",
        "",
        "<a x='1' x='2'/>",
        "<a>",
    ];

    private readonly string _dir = Directory.CreateTempSubdirectory("luaxmpp-lom-").FullName;

    [Fact]
    public void Parse_GivesWhatLuaExpatGives()
    {
        var table = "DOCS = {" + string.Join(",", Documents.Select(d => "[==[" + d + "]==]")) + "}\n";
        var script = Path.Combine(_dir, "dump.lua");
        File.WriteAllText(script, table + "io.write((load([===[" + Dump + "]===])()))\n");
        var expat = RunLua(script);

        Run(table);
        var ours = Eval(Dump);

        Assert.Contains("refused", expat);
        Assert.Equal(expat, ours);
    }

    private static string RunLua(string script)
    {
        var start = new ProcessStartInfo("lua5.4", script) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(30_000), "lua5.4 did not finish");
        Assert.True(process.ExitCode == 0, $"lua5.4: exit {process.ExitCode}: {stderr.Result}");
        return stdout;
    }

    void IDisposable.Dispose()
    {
        Directory.Delete(_dir, recursive: true);
        base.Dispose();
    }
}
