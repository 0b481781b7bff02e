using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Tests.Support;
using Xunit.Abstractions;

namespace ModelCaching.Tests.DependencyInjection;

/// <summary>
/// Shutdown with hung models: a load whose validator (or loader) ignores its token and never returns. Disposal of the
/// whole provider takes at most one bound in total (docs/reload-and-fail-safe.md, "How long shutdown takes"), not one
/// bound per model, and not twice for a cache the container also holds as a keyed singleton.
/// </summary>
/// <remarks>
/// These tests measure real time with a <see cref="Stopwatch"/>: the bound is on real threads that never return, so no
/// fake clock can stand in for it. The hung callbacks are released at the end of each test.
/// </remarks>
[Collection(nameof(AbandonedThreadTests))]
public sealed class ShutdownTests(ITestOutputHelper output)
{
    // The documented bound (ModelCacheProvider.ShutdownTimeout), and room for a loaded 2-core machine.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(2);

    // timedOut: the callers' loads timed out first (the attempts are abandoned but their threads still run), as in
    // production; otherwise disposal finds them still in progress.
    [Theory]
    [InlineData(1, true)]
    [InlineData(3, true)]
    [InlineData(20, true)]
    [InlineData(3, false)]
    public async Task DisposeAsync_OfTheServiceProvider_WithHungModels_CompletesWithinTheShutdownBound(int hungModels, bool timedOut)
    {
        using var release = new ManualResetEventSlim();
        int entered = 0;
        var services = new ServiceCollection();
        IModelCacheBuilder builder = services.AddModelCache(o => o.MaxConcurrentLoads = hungModels);
        for (int i = 0; i < hungModels; i++)
        {
            builder.AddModel<FakeModel>($"hung-{i}", m => m
                .FromSource(new MutableSource("v1"))
                .UseLoader(new FakeLoader())
                .Validate((_, _) =>
                {
                    Interlocked.Increment(ref entered);
                    release.Wait(); // ignores its token and never returns until the test lets it
                    return ValueTask.CompletedTask;
                })
                .Configure(o => o.LoadTimeout = timedOut ? TimeSpan.FromSeconds(1) : Timeout.InfiniteTimeSpan));
        }

        ServiceProvider provider = services.BuildServiceProvider();
        var calls = new List<Task>();
        for (int i = 0; i < hungModels; i++)
        {
            // Resolved as keyed singletons: the container holds them as well as the provider.
            calls.Add(provider.GetRequiredKeyedService<IModelCache<FakeModel>>($"hung-{i}").GetModelAsync().AsTask());
        }

        try
        {
            await Eventually.TrueAsync(() => Volatile.Read(ref entered) == hungModels, "every model's validator to hang");
            if (timedOut)
            {
                foreach (Task call in calls)
                {
                    ModelLoadException timeout = await Assert.ThrowsAsync<ModelLoadException>(() => call.WaitAsync(Eventually.Timeout));
                    Assert.IsType<TimeoutException>(timeout.InnerException);
                }
            }

            var stopwatch = Stopwatch.StartNew();
            await provider.DisposeAsync();
            stopwatch.Stop();
            output.WriteLine($"{hungModels} hung model(s), timed out first: {timedOut}; provider disposed in {stopwatch.Elapsed.TotalSeconds:F2} s");

            Assert.True(stopwatch.Elapsed < Bound + Margin, $"Disposing the provider with {hungModels} hung model(s) took {stopwatch.Elapsed.TotalSeconds:F1} s; the bound is {Bound.TotalSeconds:F0} s in total.");
            foreach (Task call in calls)
            {
                // Every caller has its answer: the cache was disposed under it.
                await Assert.ThrowsAnyAsync<Exception>(() => call.WaitAsync(Eventually.Timeout));
            }
        }
        finally
        {
            release.Set();
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DisposeAsync_CalledAgainWhileTheFirstWaitsForAHungLoad_ReturnsAtOnce(bool timedOut)
    {
        var factory = new CacheFactory();
        using var release = new ManualResetEventSlim();
        factory.Loader.BeforeLoad = _ =>
        {
            release.Wait(); // ignores its token
            return Task.CompletedTask;
        };
        ModelCache<FakeModel> cache = factory.Create(o => o.LoadTimeout = timedOut ? TimeSpan.FromSeconds(1) : Timeout.InfiniteTimeSpan);
        ValueTask<FakeModel> call = cache.GetModelAsync();
        await Eventually.TrueAsync(() => factory.Loader.Loads == 1, "the loader to hang");
        if (timedOut)
        {
            factory.Time.Advance(TimeSpan.FromSeconds(2));
            ModelLoadException timeout = await Assert.ThrowsAsync<ModelLoadException>(async () => await call);
            Assert.IsType<TimeoutException>(timeout.InnerException);
        }

        try
        {
            Task first = cache.DisposeAsync().AsTask();
            var stopwatch = Stopwatch.StartNew();
            await cache.DisposeAsync().AsTask().WaitAsync(Eventually.Timeout);
            stopwatch.Stop();

            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(1), $"A second DisposeAsync waited {stopwatch.Elapsed.TotalSeconds:F1} s for the same hung load.");
            Assert.False(first.IsCompleted, "the first DisposeAsync still waits for the hung load (bounded)");
            if (!timedOut)
            {
                await Assert.ThrowsAsync<ObjectDisposedException>(async () => await call);
            }
        }
        finally
        {
            release.Set();
        }
    }
}
