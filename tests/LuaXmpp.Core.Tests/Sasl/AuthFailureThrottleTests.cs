using LuaXmpp.Sasl;

namespace LuaXmpp.Tests.Sasl;

public sealed class AuthFailureThrottleTests
{
    private readonly ManualTimeProvider _time = new();

    private AuthFailureThrottle Throttle() => new(_time, TimeSpan.FromMinutes(10));

    private static void Fail(AuthFailureThrottle t, int times, string ip = "192.0.2.1", string? user = "juliet")
    {
        for (int i = 0; i < times; i++) t.RecordFailure(ip, user);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 0)]
    [InlineData(2, 0)]
    [InlineData(3, 1)]
    [InlineData(4, 2)]
    [InlineData(5, 4)]
    [InlineData(7, 16)]
    [InlineData(8, 30)]
    [InlineData(100, 30)]
    public void DelayFor_GrowsWithFailures_AndIsCapped(int failures, int seconds)
    {
        var t = Throttle();
        Fail(t, failures);

        Assert.Equal(TimeSpan.FromSeconds(seconds), t.DelayFor("192.0.2.1", "juliet"));
    }

    [Fact]
    public void DelayFor_CountsPerIp_AcrossUsernames()
    {
        var t = Throttle();
        t.RecordFailure("192.0.2.1", "a");
        t.RecordFailure("192.0.2.1", "b");
        t.RecordFailure("192.0.2.1", null);

        Assert.Equal(TimeSpan.FromSeconds(1), t.DelayFor("192.0.2.1", "c"));
        Assert.Equal(TimeSpan.Zero, t.DelayFor("192.0.2.2", "c"));
    }

    [Fact]
    public void DelayFor_CountsPerUser_AcrossIps()
    {
        var t = Throttle();
        t.RecordFailure("192.0.2.1", "juliet");
        t.RecordFailure("192.0.2.2", "juliet");
        t.RecordFailure("192.0.2.3", "juliet");

        Assert.Equal(TimeSpan.FromSeconds(1), t.DelayFor("192.0.2.9", "juliet"));
        Assert.Equal(TimeSpan.Zero, t.DelayFor("192.0.2.9", "romeo"));
    }

    [Fact]
    public void DelayFor_ForgetsFailures_OlderThanWindow()
    {
        var t = Throttle();
        Fail(t, 3);
        _time.Advance(TimeSpan.FromMinutes(6));
        Fail(t, 1);
        Assert.Equal(TimeSpan.FromSeconds(2), t.DelayFor("192.0.2.1", "juliet"));

        _time.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal(TimeSpan.Zero, t.DelayFor("192.0.2.1", "juliet"));
    }

    [Fact]
    public void RecordSuccess_ResetsUserCount_ButNotIpCount()
    {
        var t = Throttle();
        Fail(t, 4);

        t.RecordSuccess("192.0.2.1", "juliet");

        Assert.Equal(TimeSpan.Zero, t.DelayFor("192.0.2.2", "juliet"));
        Assert.Equal(TimeSpan.FromSeconds(2), t.DelayFor("192.0.2.1", "romeo"));
    }
}
