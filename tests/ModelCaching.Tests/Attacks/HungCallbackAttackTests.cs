using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Loading;
using ModelCaching.Tests.Support;
using ModelCaching.Tests.Templates;

namespace ModelCaching.Tests.Attacks;

/// <summary>
/// Callbacks that never return and ignore their token (attacks on issue 17's fixes): the process-wide cap of abandoned
/// load threads reached, shutdown while loads hang and callers wait. These fill a process-wide count, so they run alone.
/// Hung callbacks block on an event released at the end of each test.
/// </summary>
[Collection(nameof(AbandonedThreadTests))]
public sealed class HungCallbackAttackTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private readonly TenantFiles _files = new();
    private readonly ManualResetEventSlim _release = new();
    private readonly int _baseline = AbandonedLoadThreads.Process.Count; // threads other tests' hung steps left running
    private int _hung;

    public void Dispose()
    {
        _release.Set();
        _files.Dispose();
    }

    private ValueTask<FakeModel> Build(string name)
    {
        if (name.StartsWith("hung", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _hung);
            _release.Wait(); // ignores its token
        }

        return ValueTask.FromResult(new FakeModel(name));
    }

    [Fact]
    public async Task WhenAbandonedThreadsFillTheProcessCap_OtherModelsFailFastNamingTheCap_AndLoadAgainOnceTheThreadsEnd()
    {
        int cap = AbandonedLoadThreads.Process.Limit;
        int hungModels = cap + 2;
        await using ServiceProvider services = _files.Services(
            cache: o => o.MaxConcurrentLoads = 4,
            template: t => t.FromFactory((name, _) => Build(name)).Configure(o =>
            {
                o.LoadTimeout = TimeSpan.FromSeconds(1);
                o.SizeEstimator = static (_, _) => 10;
            }),
            templateOptions: o => o.MemoryBudgetBytes = 1_000,
            fromFiles: false).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();

        // Hang them in waves of the slots; each wave times out (fake time) and gives its slots back, up to the cap.
        var calls = new List<Task<FakeModel>>();
        for (int i = 0; i < hungModels; i++)
        {
            calls.Add(provider.GetCache<FakeModel>($"hung{i}").GetModelAsync().AsTask());
        }

        var stopwatch = Stopwatch.StartNew();
        while (calls.Any(c => !c.IsCompleted) && stopwatch.Elapsed < Bound)
        {
            _files.Time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(20);
        }

        Assert.All(calls, c => Assert.True(c.IsFaulted, "every hung load failed"));
        Assert.Equal(cap, AbandonedLoadThreads.Process.Count);

        // A healthy model now: it fails fast (no fake time passes) with a message naming the cap, or loads.
        Task<FakeModel> healthy = provider.GetCache<FakeModel>("healthy").GetModelAsync().AsTask();
        Exception? refusal = await Record.ExceptionAsync(() => healthy.WaitAsync(Bound));
        if (refusal is not null)
        {
            Assert.Contains("cap", refusal.ToString(), StringComparison.Ordinal);
        }

        // Let the hung threads end: the count drops to zero, and every model (hung ones too, now healthy) loads.
        _release.Set();
        await Eventually.TrueAsync(() => AbandonedLoadThreads.Process.Count <= _baseline, "the abandoned threads to end");
        _files.Time.Advance(TimeSpan.FromMinutes(10));
        foreach (string name in (string[])["healthy", "other", "hung0", $"hung{hungModels - 1}"])
        {
            FakeModel model = await provider.GetCache<FakeModel>(name).GetModelAsync().AsTask().WaitAsync(Bound);
            Assert.Equal(name, model.Content);
        }
    }

    [Fact]
    public async Task TwoConcurrentDisposeAsyncCalls_WithFiftyHungLoadsAndBlockedSynchronousCallers_EndWithinTheShutdownBound()
    {
        const int HungModels = 50;
        ServiceProvider services = _files.Services(
            cache: o => o.MaxConcurrentLoads = HungModels,
            template: t => t.FromFactory((name, _) => Build(name)).Configure(o => o.LoadTimeout = Timeout.InfiniteTimeSpan),
            templateOptions: o => o.MemoryBudgetBytes = 1_000_000,
            fromFiles: false).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();

        var errors = new ConcurrentQueue<Exception>();
        var callers = new List<Thread>();
        for (int i = 0; i < HungModels; i++)
        {
            string name = $"hung{i}";
            _ = provider.GetCache<FakeModel>(name).GetModelAsync().AsTask();
            var thread = new Thread(() =>
            {
                try
                {
                    provider.GetCache<FakeModel>(name).GetModel();
                }
                catch (Exception ex)
                {
                    errors.Enqueue(ex);
                }
            }) { IsBackground = true };
            thread.Start();
            callers.Add(thread);
        }

        await Eventually.TrueAsync(() => Volatile.Read(ref _hung) == HungModels, "every load to hang");
        var stopwatch = Stopwatch.StartNew();
        Task first = Task.Run(async () => await services.DisposeAsync());
        Task second = Task.Run(async () => await services.DisposeAsync());
        await Task.WhenAll(first, second).WaitAsync(Bound);
        TimeSpan disposal = stopwatch.Elapsed;

        Assert.True(disposal < TimeSpan.FromSeconds(7), $"two DisposeAsync calls with {HungModels} hung loads took {disposal.TotalSeconds:F1} s");
        foreach (Thread thread in callers)
        {
            Assert.True(thread.Join(TimeSpan.FromSeconds(5)), "a synchronous caller is still blocked after shutdown");
        }

        Assert.Equal(HungModels, errors.Count);

        // Leave the process's count of abandoned threads as it was found, for the tests after this one.
        _release.Set();
        await Eventually.TrueAsync(() => AbandonedLoadThreads.Process.Count <= _baseline, "the abandoned threads to end");
    }
}
