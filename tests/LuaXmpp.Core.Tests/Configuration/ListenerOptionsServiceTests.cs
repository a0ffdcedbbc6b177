using LuaXmpp.Configuration;
using Xunit;

namespace LuaXmpp.Core.Tests.Configuration;

/// <summary>Ports and interfaces of the services besides c2s (http, https, component), read as Prosody's portmanager reads them.</summary>
public sealed class ListenerOptionsServiceTests
{
    private static ServerConfig Config(params (string Key, object? Value)[] options) =>
        new(null, options.ToDictionary(o => o.Key, o => o.Value), []);

    private static ConfigTable List(params object?[] items)
    {
        var table = new ConfigTable();
        table.Array.AddRange(items);
        return table;
    }

    [Fact]
    public void Defaults_apply_when_the_options_are_absent()
    {
        var endpoints = ListenerOptions.Service(Config(), "component", [5347], ["127.0.0.1"], out var error);
        Assert.Null(error);
        Assert.Equal(["127.0.0.1:5347"], endpoints.Select(e => e.EndPoint.ToString()));
        Assert.All(endpoints, e => Assert.Equal("component_ports", e.Option));
    }

    [Fact]
    public void A_single_number_a_string_and_a_list_are_all_ports()
    {
        Assert.Equal([5281], Ports(Config(("https_ports", 5281L))));
        Assert.Equal([5281], Ports(Config(("https_ports", "5281"))));
        Assert.Equal([1, 2], Ports(Config(("https_ports", List(1L, "2")))));
        Assert.Empty(Ports(Config(("https_ports", List()))));
    }

    [Fact]
    public void Service_interfaces_win_over_the_default()
    {
        var config = Config(("http_interfaces", List("::1", "127.0.0.2")));
        var endpoints = ListenerOptions.Service(config, "http", [5280], ["*"], out var error);
        Assert.Null(error);
        Assert.Equal(["[::1]:5280", "127.0.0.2:5280"], endpoints.Select(e => e.EndPoint.ToString()));
    }

    [Theory]
    [InlineData("abc", "http_ports")]
    [InlineData(70000L, "http_ports")]
    public void A_bad_port_is_one_error_naming_the_option(object port, string option)
    {
        var endpoints = ListenerOptions.Service(Config(("http_ports", port)), "http", [5280], ["*"], out var error);
        Assert.Empty(endpoints);
        Assert.StartsWith(option + ":", error);
    }

    [Fact]
    public void A_bad_interface_is_one_error_naming_the_option()
    {
        ListenerOptions.Service(Config(("http_interfaces", "localhost")), "http", [5280], ["*"], out var error);
        Assert.StartsWith("http_interfaces:", error);
    }

    private static int[] Ports(ServerConfig config) =>
        ListenerOptions.Service(config, "https", [9], ["127.0.0.1"], out _).Select(e => e.EndPoint.Port).ToArray();
}
