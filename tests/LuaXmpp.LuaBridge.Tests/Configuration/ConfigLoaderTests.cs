using LuaXmpp.Configuration;
using LuaXmpp.LuaBridge.Configuration;

namespace LuaXmpp.Tests.Configuration;

public sealed class ConfigLoaderTests : IDisposable
{
    private readonly TempConfigDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private const string FullConfig = """
        -- global section
        admins = { "admin@example.com" }
        modules_enabled = { "roster", "saslauth"; "ping" }
        c2s_ports = { 5222 }
        ratio = 1.5
        allow_registration = false
        limits = { c2s = { rate = "10kb/s" }, [1] = "first", [true] = "yes", [7] = 7 }
        motd = FileContents("motd.txt")
        first_line = FileLine("lines.txt")
        all_lines = FileLines("lines.txt")
        home = ENV_LUAXMPP_CONFIG_TEST_VAR
        missing_env = ENV_LUAXMPP_CONFIG_TEST_UNSET
        greeting = "hello " .. string.upper("world")
        callback = function() end

        VirtualHost "Example.COM"
            authentication = "internal_hashed"
            derived = authentication .. "!"
            inherited_read = ratio * 2

        VirtualHost "disabled.example" { enabled = false, storage = "memory" }
        after_table = "global again"

        Component "conference.example.com" "muc"
            restrict_room_creation = true

        Component "gateway.example.com"
            component_secret = "s3cret"

        VirtualHost "example.com"
            continued = "yes"

        Include "extra/*.cfg.lua"
        """;

    private ServerConfig LoadFull()
    {
        Environment.SetEnvironmentVariable("LUAXMPP_CONFIG_TEST_VAR", "/home/test");
        _dir.Write("motd.txt", "Welcome!\n\n");
        _dir.Write("lines.txt", "one\ntwo\r\nthree\n");
        _dir.Write("extra/b.cfg.lua", "VirtualHost \"b.example\"\nfrom_b = 2\n");
        _dir.Write("extra/a.cfg.lua", "VirtualHost \"a.example\"\nfrom_a = 1\n");
        _dir.Write("extra/.hidden.cfg.lua", "VirtualHost \"hidden.example\"\n");
        _dir.Write("extra/notes.txt", "VirtualHost \"notes.example\"\n");
        return ConfigLoader.Load(_dir.Write("prosody.cfg.lua", FullConfig));
    }

    [Fact]
    public void Load_GlobalOptions_ConvertLuaValues()
    {
        var config = LoadFull();

        Assert.Equal(["roster", "saslauth", "ping"], config.GetStringList(null, "modules_enabled"));
        Assert.Equal(5222L, Assert.IsType<ConfigTable>(config.Global["c2s_ports"]).Array.Single());
        Assert.Equal(1.5, config.Global["ratio"]);
        Assert.Equal(false, config.Global["allow_registration"]);
        Assert.Equal("hello WORLD", config.Global["greeting"]);
        var limits = Assert.IsType<ConfigTable>(config.Global["limits"]);
        Assert.Equal("10kb/s", Assert.IsType<ConfigTable>(limits["c2s"])["rate"]);
        Assert.Equal(["first"], limits.Array);
        Assert.Equal("yes", limits.Hash[true]);
        Assert.Equal(7L, limits.Hash[7L]);
        Assert.False(config.Global.ContainsKey("callback"));
        Assert.Equal(_dir.Path + "/prosody.cfg.lua", config.Path);
    }

    [Fact]
    public void Load_FileFunctionsAndEnvironment_ReadRelativeToConfig()
    {
        var config = LoadFull();

        Assert.Equal("Welcome!", config.Global["motd"]);
        Assert.Equal("one", config.Global["first_line"]);
        Assert.Equal(["one", "two", "three"], config.GetStringList(null, "all_lines"));
        Assert.Equal("/home/test", config.Global["home"]);
        Assert.False(config.Global.ContainsKey("missing_env"));
    }

    [Fact]
    public void Load_Sections_KeepDeclarationOrderAndKinds()
    {
        var config = LoadFull();

        Assert.Equal(
            ["example.com", "disabled.example", "conference.example.com", "gateway.example.com", "a.example", "b.example"],
            config.Hosts.Select(h => h.Name));
        var muc = config.FindHost("conference.example.com")!;
        Assert.Equal(HostKind.Component, muc.Kind);
        Assert.Equal("muc", muc.ComponentModule);
        Assert.Equal(true, muc.Options["restrict_room_creation"]);
        var gateway = config.FindHost("gateway.example.com")!;
        Assert.Equal("component", gateway.ComponentModule);
        Assert.Equal("s3cret", gateway.Options["component_secret"]);
        Assert.Equal(HostKind.VirtualHost, config.FindHost("example.com")!.Kind);
    }

    [Fact]
    public void Load_HostOptions_InheritFromGlobalThroughGet()
    {
        var config = LoadFull();

        Assert.Equal("internal_hashed", config.GetString("example.com", "authentication"));
        Assert.Null(config.GetString(null, "authentication"));
        Assert.Equal(["admin@example.com"], config.GetStringList("example.com", "admins"));
        Assert.Equal("yes", config.GetString("example.com", "continued"));
        Assert.Equal(1L, config.Get("a.example", "from_a"));
        Assert.Null(config.Get("b.example", "from_a"));
    }

    [Fact]
    public void Load_ReadingAnOption_SeesThisSectionThenGlobal()
    {
        var config = LoadFull();

        Assert.Equal("internal_hashed!", config.GetString("example.com", "derived"));
        Assert.Equal(3.0, config.Get("example.com", "inherited_read"));
    }

    [Fact]
    public void Load_VirtualHostWithOptionTable_SetsOptionsAndReturnsToGlobal()
    {
        var config = LoadFull();

        var disabled = config.FindHost("disabled.example")!;
        Assert.False(disabled.Enabled);
        Assert.True(config.FindHost("example.com")!.Enabled);
        Assert.Equal("memory", disabled.Options["storage"]);
        Assert.Equal("global again", config.Global["after_table"]);
    }

    [Fact]
    public void Load_IncludeGlob_SkipsHiddenAndNonMatchingFiles()
    {
        var config = LoadFull();

        Assert.Null(config.FindHost("hidden.example"));
        Assert.Null(config.FindHost("notes.example"));
        Assert.NotNull(config.FindHost("a.example"));
    }

    [Fact]
    public void Load_SyntaxError_ReportsFileAndLine()
    {
        var path = _dir.Write("prosody.cfg.lua", "admins = { }\n\nmodules_enabled = { \"ping\" \"roster\" }\n");

        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));

        Assert.Equal(path, e.File);
        Assert.Equal(3, e.Line);
        Assert.StartsWith(path + ":3: ", e.Message);
    }

    [Fact]
    public void Load_RuntimeError_ReportsFileAndLine()
    {
        var path = _dir.Write("prosody.cfg.lua", "a = 1\nVirtualHost \"x.example\"\nb = nothing.field\n");

        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));

        Assert.Equal(3, e.Line);
        Assert.Contains("nothing", e.Detail);
        Assert.StartsWith(path + ":3: ", e.Message);
    }

    [Fact]
    public void Load_ErrorRaisedWithoutPosition_StillGetsTheConfigLine()
    {
        var path = _dir.Write("prosody.cfg.lua", "a = 1\n\nerror({ 'not a string' })\n");

        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));

        Assert.Equal(path, e.File);
        Assert.Equal(3, e.Line);
    }

    [Fact]
    public void Load_ErrorInIncludedFile_NamesThatFile()
    {
        var included = _dir.Write("conf.d/bad.cfg.lua", "x = 1\ny = (\n");
        var path = _dir.Write("prosody.cfg.lua", "Include \"conf.d/bad.cfg.lua\"\n");

        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));

        Assert.Equal(included, e.File);
        Assert.Equal(3, e.Line);
    }

    [Fact]
    public void Load_IncludeOfMissingFile_IsAnErrorNamingIt()
    {
        var path = _dir.Write("prosody.cfg.lua", "a = 1\nInclude \"nowhere.cfg.lua\"\n");

        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));

        Assert.Equal(path, e.File);
        Assert.Equal(2, e.Line);
        Assert.Contains(Path.Combine(_dir.Path, "nowhere.cfg.lua"), e.Message);
    }

    [Fact]
    public void Load_MissingConfigFile_Throws()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(Path.Combine(_dir.Path, "absent.cfg.lua")));

        Assert.Null(e.Line);
    }

    [Fact]
    public void Load_VirtualHostGivenAModule_IsAnError()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadFromString("\nVirtualHost \"x.example\" \"muc\"\n", "test.cfg.lua", null));

        Assert.Equal("test.cfg.lua", e.File);
        Assert.Equal(2, e.Line);
        Assert.Contains("do not accept a module name", e.Message);
    }

    [Fact]
    public void Load_ComponentReusingVirtualHostName_IsAnError()
    {
        var e = Assert.Throws<ConfigException>(() =>
            ConfigLoader.LoadFromString("VirtualHost \"x.example\"\nComponent \"x.example\" \"muc\"\n", "test.cfg.lua", null));

        Assert.Equal(2, e.Line);
        Assert.Contains("clashes", e.Message);
    }

    [Fact]
    public void Load_ComponentFollowedByNonTable_ReportsTheConfigLine()
    {
        var e = Assert.Throws<ConfigException>(() =>
            ConfigLoader.LoadFromString("a = 1\nComponent \"rooms.example\" \"muc\" (5)\n", "test.cfg.lua", null));

        Assert.Equal("test.cfg.lua", e.File);
        Assert.Equal(2, e.Line);
        Assert.Contains("expected options", e.Detail);
    }

    [Fact]
    public void Load_FileContentsOfMissingFile_IsAnErrorNamingIt()
    {
        var e = Assert.Throws<ConfigException>(() =>
            ConfigLoader.LoadFromString("\nmotd = FileContents(\"absent.txt\")\n", "test.cfg.lua", _dir.Path));

        Assert.Equal(2, e.Line);
        Assert.Contains(Path.Combine(_dir.Path, "absent.txt"), e.Message);
    }

    [Fact]
    public void Load_ProsodysEnvironment_HasRequireIoAndOs_ButNoDebug()
    {
        var config = ConfigLoader.LoadFromString(
            "has_io = io ~= nil\nhas_exit = os.exit ~= nil\nhas_dofile = dofile ~= nil\nhas_debug = debug ~= nil\nhas_require = require ~= nil\n",
            "test.cfg.lua", null);

        Assert.All(new[] { "has_io", "has_exit", "has_dofile", "has_require" }, k => Assert.Equal(true, config.Global[k]));
        Assert.Equal(false, config.Global["has_debug"]);
    }

    [Fact]
    public void Load_ProsodyTestConfigStyle_PackagePreloadRequireAndOsOverride()
    {
        // The style of Prosody's own test config: replace os.time through _G, preload a module,
        // extend package.path and require a helper from it.
        _dir.Write("lib/cfghelper.lua", "return { ports = function () return { 5222, 5223 } end }\n");
        var config = ConfigLoader.LoadFromString($$"""
            function _G.os.time() return 1219439344 end
            package.preload["util.fake_time"] = function () return { now = function () return 42.5 end } end
            package.path = "{{_dir.Path}}/lib/?.lua;" .. package.path
            local helper = require "cfghelper"
            c2s_ports = helper.ports()
            frozen = os.time()
            now = require "util.fake_time".now()
            VirtualHost "example.com"
            """, "test.cfg.lua", _dir.Path);

        Assert.Equal(new[] { "5222", "5223" }, config.GetStringList(null, "c2s_ports"));
        Assert.Equal(1219439344L, config.Global["frozen"]);
        Assert.Equal(42.5, config.Global["now"]);
        Assert.NotNull(config.FindHost("example.com"));
    }

    [Fact]
    public void Load_Credential_ReadsFromCredentialsDirectory()
    {
        _dir.Write("creds/db_password", "s3cret\n");
        Environment.SetEnvironmentVariable("CREDENTIALS_DIRECTORY", Path.Combine(_dir.Path, "creds"));
        try
        {
            var config = ConfigLoader.LoadFromString("sql_password = Credential(\"db_password\")\n", "test.cfg.lua", _dir.Path);
            Assert.Equal("s3cret", config.Global["sql_password"]);
        }
        finally
        {
            Environment.SetEnvironmentVariable("CREDENTIALS_DIRECTORY", null);
        }
    }

    [Fact]
    public void Load_LoadFromStringWithBaseDirectory_IncludesRelativeToIt()
    {
        _dir.Write("more.cfg.lua", "VirtualHost \"more.example\"\n");

        var config = ConfigLoader.LoadFromString("Include \"more.cfg.lua\"\n", "inline", _dir.Path);

        Assert.Null(config.Path);
        Assert.NotNull(config.FindHost("more.example"));
    }

    [Fact]
    public void Load_CyclicTable_IsDroppedNotLooping()
    {
        var config = ConfigLoader.LoadFromString("t = { name = \"x\" }\nt.self = t\n", "test.cfg.lua", null);

        var t = Assert.IsType<ConfigTable>(config.Global["t"]);
        Assert.Equal("x", t["name"]);
        Assert.False(t.Hash.ContainsKey("self"));
    }

    [Fact]
    public void Load_DebianDefaultConfig_YieldsLocalhostWithModules()
    {
        const string path = "/etc/prosody/prosody.cfg.lua";
        Assert.True(File.Exists(path), $"{path} is missing: install the Debian 'prosody' package to run this test");

        var config = ConfigLoader.Load(path);

        var localhost = config.FindHost("localhost");
        Assert.NotNull(localhost);
        Assert.Equal(HostKind.VirtualHost, localhost.Kind);
        var modules = config.GetStringList("localhost", "modules_enabled");
        Assert.Contains("roster", modules);
        Assert.Contains("saslauth", modules);
        Assert.Contains("ping", modules);
        Assert.Equal("internal_hashed", config.GetString("localhost", "authentication"));
        Assert.Equal("certs", config.GetString(null, "certificates"));
    }
}
