using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Generations;
using ModelCaching.Loading;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Loading;

/// <summary>
/// An attempt whose thread ends in the instant its timeout fires: the timeout must not mark it as still running after
/// the thread has gone, or no load of the model would ever start again.
/// </summary>
[Collection(nameof(AbandonedThreadTests))]
public sealed class LoadCoordinatorTimeoutRaceTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30); // a bound for a loaded CI machine, not a wait

    [Fact]
    public async Task AttemptThatEndsAsItTimesOut_DoesNotBlockTheNextLoad()
    {
        var time = new FakeTimeProvider();
        using var release = new ManualResetEventSlim();
        using var started = new ManualResetEventSlim();
        int runs = 0;
        var coordinator = new LoadCoordinator<FakeModel>(
            new DelegateLoadHost<FakeModel>(attempt =>
            {
                int run = Interlocked.Increment(ref runs);
                if (run == 1)
                {
                    // The timeout cancels this token before it tells the coordinator: make the thread end right then.
                    attempt.CancellationToken.Register(() =>
                    {
                        release.Set();
                        SpinWait.SpinUntil(() => attempt.HasEnded, Bound);
                    });
                    started.Set();
                    release.Wait();
                    throw new OperationCanceledException("abandoned");
                }

                var version = new ModelVersion($"g{run}", run, "memory:test", DateTimeOffset.UnixEpoch, 0);
                return new ModelGeneration<FakeModel>("m", new FakeModel($"v{run}"), version, null, NullLogger.Instance);
            })
            {
                TimeProvider = time,
                LoadTimeout = Timeout,
            });

        Task<ModelGeneration<FakeModel>> first = coordinator.Request(ModelLoadReason.FirstUse);
        Assert.True(started.Wait(Bound));
        time.Advance(Timeout);

        ModelLoadException timedOut = await Assert.ThrowsAsync<ModelLoadException>(() => first.WaitAsync(Bound));
        Assert.IsType<TimeoutException>(timedOut.InnerException);
        Assert.False(coordinator.AbandonedRunning);

        ModelGeneration<FakeModel> next = await coordinator.Request(ModelLoadReason.FirstUse).WaitAsync(Bound);
        Assert.Equal("v2", next.Model.Content);
    }
}
