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
    public void AccountFailures_FromOtherAddresses_NeverDelayACleanAddress()
    {
        var t = Throttle();
        for (int i = 1; i <= 16; i++) t.RecordFailure($"192.0.2.{i}", "juliet");

        Assert.Equal(TimeSpan.Zero, t.DelayFor("192.0.2.99", "juliet"));
        Assert.Equal(TimeSpan.Zero, t.DelayFor("192.0.2.1", "romeo"));
    }

    [Fact]
    public void AccountFailures_DelayAnAddressWithFailures_UpToTheCap()
    {
        var t = Throttle();
        for (int i = 1; i <= 16; i++) t.RecordFailure($"192.0.2.{i}", "juliet");

        // One failure of its own: the account's 16 count, capped at AccountShareCap (5: 4 s).
        Assert.Equal(AuthFailureThrottle.Delay(AuthFailureThrottle.AccountShareCap), t.DelayFor("192.0.2.1", "juliet"));
        Assert.Equal(TimeSpan.FromSeconds(4), t.DelayFor("192.0.2.1", "juliet"));
    }

    [Fact]
    public void OwnFailuresAtAnAccount_CountInFull_EvenFromAnAddressWithFewFailures()
    {
        var t = Throttle();
        Fail(t, 8, ip: "192.0.2.1", user: "juliet");
        // The address's failures are all at juliet: a success elsewhere does not clear them here.
        t.RecordSuccess("192.0.2.2", "juliet");

        Assert.Equal(AuthFailureThrottle.Delay(8), t.DelayFor("192.0.2.1", "juliet"));
        t.RecordSuccess("192.0.2.1", "juliet");
        Assert.Equal(AuthFailureThrottle.Delay(8), t.DelayFor("192.0.2.1", null));
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
