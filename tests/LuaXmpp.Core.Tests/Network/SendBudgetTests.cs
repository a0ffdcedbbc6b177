using LuaXmpp.Network;

namespace LuaXmpp.Tests.Network;

public sealed class SendBudgetTests
{
    [Fact]
    public void TryReserve_UpToTheLimit_Succeeds()
    {
        var budget = new SendBudget(100);

        Assert.True(budget.TryReserve(60, out var first));
        Assert.True(budget.TryReserve(40, out var second));

        Assert.Equal(60, first);
        Assert.Equal(100, second);
        Assert.Equal(100, budget.Queued);
    }

    [Fact]
    public void TryReserve_PastTheLimit_RefusesAndReservesNothing()
    {
        var budget = new SendBudget(100);
        budget.TryReserve(90, out _);

        Assert.False(budget.TryReserve(11, out var wouldBe));

        Assert.Equal(101, wouldBe);
        Assert.Equal(90, budget.Queued);
    }

    [Fact]
    public void Release_FreesRoom_ForLaterReservations()
    {
        var budget = new SendBudget(100);
        budget.TryReserve(100, out _);

        budget.Release(30);

        Assert.Equal(70, budget.Queued);
        Assert.True(budget.TryReserve(30, out _));
        Assert.False(budget.TryReserve(1, out _));
    }

    [Fact]
    public void Peak_KeepsTheHighestTotal_AfterReleases()
    {
        var budget = new SendBudget(1_000);
        budget.TryReserve(300, out _);
        budget.TryReserve(400, out _);
        budget.Release(700);
        budget.TryReserve(100, out _);

        Assert.Equal(700, budget.Peak);
        Assert.Equal(100, budget.Queued);
    }

    [Fact]
    public void Peak_IgnoresRefusedReservations()
    {
        var budget = new SendBudget(100);
        budget.TryReserve(50, out _);

        budget.TryReserve(500, out _);

        Assert.Equal(50, budget.Peak);
    }

    [Fact]
    public void Release_MoreThanReserved_IsABug()
    {
        var budget = new SendBudget(100);
        budget.TryReserve(10, out _);

        Assert.Throws<InvalidOperationException>(() => budget.Release(11));
    }

    [Fact]
    public void Constructor_ZeroLimit_IsRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SendBudget(0));
    }

    [Fact]
    public async Task TryReserveAndRelease_FromManyThreads_BalanceToZero()
    {
        var budget = new SendBudget(long.MaxValue / 2);
        var workers = Enumerable.Range(0, 4).Select(worker => Task.Run(() =>
        {
            for (int i = 0; i < 10_000; i++)
            {
                Assert.True(budget.TryReserve(7, out _));
                budget.Release(7);
            }
        }));

        await Task.WhenAll(workers);

        Assert.Equal(0, budget.Queued);
        Assert.InRange(budget.Peak, 7, 28);
    }
}
