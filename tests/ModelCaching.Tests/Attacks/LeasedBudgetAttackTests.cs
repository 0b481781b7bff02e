using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Tests.Support;
using ModelCaching.Tests.Templates;

namespace ModelCaching.Tests.Attacks;

/// <summary>
/// A budget whose every model is leased, eviction during a lease, Invalidate during a load, bursts of synchronous callers
/// on cold names (attacks on issue 17's fixes).
/// </summary>
public sealed class LeasedBudgetAttackTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private readonly TenantFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static ModelMemoryBudgetStatus Budget(IModelCacheProvider provider) => Assert.Single(provider.GetMemoryBudgets());

    [Fact]
    public async Task ALoadUnderABudgetWhoseModelsAreAllLeased_FailsAtItsTimeoutNamingTheBudget_AndLoadsOnceTheLeasesEnd()
    {
        foreach (string name in (string[])["a", "b", "c"])
        {
            _files.Write(name, bytes: 100);
        }

        await using ServiceProvider services = _files.Services(
            template: t => t.Configure(o =>
            {
                o.LoadTimeout = TimeSpan.FromSeconds(5);
                o.EvictionDrainDelay = TimeSpan.Zero;
            }),
            templateOptions: o => o.MemoryBudgetBytes = 200).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        ModelLease<FakeModel> a = provider.GetCache<FakeModel>("a").Acquire();
        ModelLease<FakeModel> b = provider.GetCache<FakeModel>("b").Acquire();

        Task<FakeModel> c = provider.GetCache<FakeModel>("c").GetModelAsync().AsTask();
        await Eventually.TrueAsync(() => Budget(provider).WaitingLoads == 1 || c.IsCompleted, "c waits for memory");

        // The leased models may be evicted, but their bytes stay until the leases end: they are never disposed meanwhile.
        Assert.False(a.Model.IsDisposed);
        Assert.False(b.Model.IsDisposed);
        _files.Time.Advance(TimeSpan.FromSeconds(5));
        var error = await Assert.ThrowsAsync<ModelLoadException>(() => c.WaitAsync(Bound));
        Assert.Contains("memory", error.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.False(a.Model.IsDisposed);
        Assert.False(b.Model.IsDisposed);
        Assert.True(Budget(provider).UsedBytes <= 200, $"{Budget(provider).UsedBytes} of 200 bytes");

        a.Dispose();
        b.Dispose();
        _files.Time.Advance(TimeSpan.FromMinutes(5)); // past any retry back-off
        FakeModel loaded = await provider.GetCache<FakeModel>("c").GetModelAsync().AsTask().WaitAsync(Bound);
        Assert.StartsWith("c", loaded.Content, StringComparison.Ordinal);
        Assert.True(Budget(provider).UsedBytes <= 200, $"{Budget(provider).UsedBytes} of 200 bytes");
    }

    [Fact]
    public async Task InvalidateDuringALoad_LeavesTheBudgetCountingOnlyWhatServes()
    {
        var release = new ManualResetEventSlim();
        int entered = 0;
        await using ServiceProvider services = _files.Services(
            template: t => t.FromFactory((name, _) =>
            {
                Interlocked.Increment(ref entered);
                release.Wait(Bound);
                return ValueTask.FromResult(new FakeModel(name));
            }).Configure(o => o.SizeEstimator = static (_, _) => 40),
            templateOptions: o => o.MemoryBudgetBytes = 100,
            fromFiles: false).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();

        IModelCache<FakeModel> a = provider.GetCache<FakeModel>("a");
        Task<FakeModel> load = a.GetModelAsync().AsTask();
        await Eventually.TrueAsync(() => Volatile.Read(ref entered) == 1, "the factory runs");
        a.Invalidate();
        release.Set();
        try
        {
            await load.WaitAsync(Bound);
        }
        catch (ModelLoadException)
        {
            // Either outcome is fine; what it leaves in the budget is checked below.
        }

        long expected = a.State is ModelCacheState.Ready or ModelCacheState.Degraded ? 40 : 0;
        Assert.Equal(expected, Budget(provider).UsedBytes);
        a.Invalidate();
        Assert.Equal(0, Budget(provider).UsedBytes);
        Assert.Equal(0, Budget(provider).ResidentBytes);
    }

    [Fact]
    public async Task ThirtyTwoSynchronousCallersPerColdName_OnPoolThreads_AllGetTheirModel_UnderAFullBudget()
    {
        const int Callers = 32;
        const int Rounds = 100;
        int failures = 0;
        var firstFailure = new ConcurrentQueue<Exception>();
        await using ServiceProvider services = _files.Services(
            cache: o => o.MaxConcurrentLoads = 2,
            template: t => t.FromFactory(static (name, _) => ValueTask.FromResult(new FakeModel(name)))
                .Configure(o =>
                {
                    o.SizeEstimator = static (_, _) => 40;
                    o.EvictionDrainDelay = TimeSpan.Zero;
                }),
            templateOptions: o => o.MemoryBudgetBytes = 100,
            fromFiles: false).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();

        for (int round = 0; round < Rounds; round++)
        {
            string[] names = [$"r{round}a", $"r{round}b"];
            Task[] callers = [.. Enumerable.Range(0, Callers).Select(i => Task.Run(() =>
            {
                try
                {
                    string name = names[i % 2];
                    if (provider.GetCache<FakeModel>(name).GetModel().Content != name)
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref failures);
                    firstFailure.Enqueue(ex);
                }
            }))];
            try
            {
                await Task.WhenAll(callers).WaitAsync(Bound);
            }
            catch (TimeoutException)
            {
                // What the blocked callers wait for: the budget and the last rounds' caches.
                var sb = new System.Text.StringBuilder($"round {round}: budget {Budget(provider)}\n");
                for (int k = Math.Max(0, round - 2); k <= round; k++)
                {
                    foreach (string n in new[] { $"r{k}a", $"r{k}b" })
                    {
                        sb.Append(n).Append(": ").Append(provider.GetCache<FakeModel>(n).GetStatistics()).Append('\n');
                    }
                }
                sb.Append("callers done: ").Append(callers.Count(c => c.IsCompleted)).Append('\n');
                throw new TimeoutException(sb.ToString());
            }
            Assert.True(Budget(provider).UsedBytes <= 100, $"round {round}: {Budget(provider).UsedBytes} of 100 bytes");
        }

        Assert.True(failures == 0, $"{failures} of {Callers * Rounds} calls failed; first: {(firstFailure.TryPeek(out Exception? first) ? first : null)}");
    }
}
