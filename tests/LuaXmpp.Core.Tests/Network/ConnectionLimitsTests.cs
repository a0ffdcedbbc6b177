using LuaXmpp.Logging;
using LuaXmpp.Network;
using LuaXmpp.Tests.Sasl;

namespace LuaXmpp.Tests.Network;

public sealed class ConnectionLimitsTests
{
    [Fact]
    public void UnauthenticatedPerIp_RefusesTheNext_UntilOneAuthenticatesOrLeaves()
    {
        var limits = new ConnectionLimits { MaxUnauthenticatedPerIp = 2, MaxUnauthenticated = 0, DescriptorLimit = () => null };
        Assert.Null(limits.TryAdmit("192.0.2.1"));
        Assert.Null(limits.TryAdmit("192.0.2.1"));
        Assert.Equal("max_unauthenticated_per_ip", limits.TryAdmit("192.0.2.1"));
        Assert.Null(limits.TryAdmit("192.0.2.2"));

        limits.Authenticated("192.0.2.1");
        Assert.Null(limits.TryAdmit("192.0.2.1"));
        limits.Released("192.0.2.1", wasAuthenticated: false);
        Assert.Null(limits.TryAdmit("192.0.2.1"));
        Assert.Equal(3, limits.Unauthenticated);
    }

    [Fact]
    public void TotalUnauthenticated_AndPerIpTotal_AreCapped()
    {
        var limits = new ConnectionLimits { MaxUnauthenticatedPerIp = 0, MaxUnauthenticated = 2, MaxConnectionsPerIp = 3, DescriptorLimit = () => null };
        Assert.Null(limits.TryAdmit("a"));
        Assert.Null(limits.TryAdmit("b"));
        Assert.Equal("max_unauthenticated", limits.TryAdmit("c"));
        limits.Authenticated("a");
        Assert.Null(limits.TryAdmit("a"));
        limits.Authenticated("a");
        Assert.Null(limits.TryAdmit("a"));
        limits.Authenticated("a");
        Assert.Equal("max_connections_per_ip", limits.TryAdmit("a"));
        limits.Released("a", wasAuthenticated: true);
        Assert.Null(limits.TryAdmit("a"));
    }

    [Fact]
    public void OpenFilesLimit_KeepsAReserve()
    {
        long files = 2048;
        var limits = new ConnectionLimits { MaxUnauthenticatedPerIp = 0, MaxUnauthenticated = 0, DescriptorLimit = () => files };
        long admitted = 0;
        while (limits.TryAdmit("a") is null) admitted++;
        Assert.Equal(2048 - 256, admitted);
        Assert.Equal("open files limit", limits.TryAdmit("b"));
        files = 4096;
        Assert.Null(limits.TryAdmit("b"));
    }

    [Fact]
    public void LogBurst_LogsOncePerInterval_AndCountsTheRest()
    {
        var time = new ManualTimeProvider();
        var burst = new LogBurst(time, TimeSpan.FromSeconds(10));
        Assert.True(burst.ShouldLog(out var skipped));
        Assert.Equal(0, skipped);
        for (int i = 0; i < 1000; i++) Assert.False(burst.ShouldLog(out _));
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.True(burst.ShouldLog(out skipped));
        Assert.Equal(1000, skipped);
    }
}
