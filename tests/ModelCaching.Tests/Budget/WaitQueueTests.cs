using ModelCaching.Budget;

namespace ModelCaching.Tests.Budget;

/// <summary>
/// <see cref="WaitQueue"/>: loads waiting for memory are served first come, first served; each is woken by a signal,
/// never by polling; one that gives up leaves the queue and hands its turn on.
/// </summary>
public sealed class WaitQueueTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public void ASignal_WakesOnlyTheFirst_AndRemovingItWakesTheNext()
    {
        var queue = new WaitQueue();
        using WaitQueue.Waiter first = queue.Enqueue();
        using WaitQueue.Waiter second = queue.Enqueue();
        using WaitQueue.Waiter third = queue.Enqueue();

        queue.SignalFirst();

        Assert.True(queue.IsFirst(first));
        Assert.True(first.Signalled);
        Assert.False(second.Signalled);
        Assert.False(third.Signalled);

        queue.Remove(first);

        Assert.Equal(2, queue.Count);
        Assert.True(queue.IsFirst(second));
        Assert.True(second.Signalled);
        Assert.False(third.Signalled);
    }

    [Fact]
    public void AWaiterAhead_GoesToTheHead()
    {
        var queue = new WaitQueue();
        using WaitQueue.Waiter queued = queue.Enqueue();
        using WaitQueue.Waiter ahead = queue.Enqueue(ahead: true);

        Assert.True(queue.IsFirst(ahead));
        Assert.False(queue.IsFirst(queued));
    }

    [Fact]
    public void SignalsDoNotPileUp_AndRemovingTwiceWakesNobodyTwice()
    {
        var queue = new WaitQueue();
        using WaitQueue.Waiter first = queue.Enqueue();
        using WaitQueue.Waiter second = queue.Enqueue();

        queue.SignalFirst();
        queue.SignalFirst();
        first.Wait(CancellationToken.None);
        Assert.False(first.Signalled);

        queue.Remove(first);
        second.Wait(CancellationToken.None);
        queue.Remove(first);

        Assert.False(second.Signalled);
        Assert.Equal(1, queue.Count);
    }

    [Fact]
    public async Task AWaitingLoad_IsWokenByTheSignal()
    {
        var queue = new WaitQueue();
        using WaitQueue.Waiter waiter = queue.Enqueue();
        using var gate = new ManualResetEventSlim();
        Task waiting = Task.Run(() =>
        {
            gate.Set();
            waiter.Wait(CancellationToken.None);
        });
        Assert.True(gate.Wait(Bound));
        Assert.False(waiting.IsCompleted);

        queue.SignalFirst();

        await waiting.WaitAsync(Bound);
    }

    [Fact]
    public async Task AWaiterThatGivesUp_LeavesTheQueue_AndTheNextIsWoken()
    {
        var queue = new WaitQueue();
        using WaitQueue.Waiter first = queue.Enqueue();
        using WaitQueue.Waiter second = queue.Enqueue();
        using var givesUp = new CancellationTokenSource();
        Task waiting = Task.Run(() => first.Wait(givesUp.Token));

        await givesUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Bound));
        queue.Remove(first);

        Assert.Equal(1, queue.Count);
        Assert.True(queue.IsFirst(second));
        Assert.True(second.Signalled);
    }
}
