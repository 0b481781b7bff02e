using Microsoft.Extensions.Time.Testing;

namespace ModelCaching.Tests.Support;

/// <summary>Builds caches over a <see cref="MutableSource"/> and a <see cref="FakeLoader"/> for tests.</summary>
public sealed class CacheFactory
{
    public MutableSource Source { get; } = new("v1");

    public FakeLoader Loader { get; } = new();

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));

    public ModelOptions<FakeModel> Options(Action<ModelOptions<FakeModel>>? configure = null)
    {
        var options = new ModelOptions<FakeModel> { Source = Source, Loader = Loader, DrainDelay = TimeSpan.Zero };
        configure?.Invoke(options);
        return options;
    }

    public ModelCache<FakeModel> Create(Action<ModelOptions<FakeModel>>? configure = null, string name = "test-model") =>
        new(name, Options(configure), Time);
}

/// <summary>Bounded waits for background work in tests.</summary>
public static class Eventually
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30); // a bound for a loaded 2-core CI machine, not a wait

    /// <summary>Waits (with a bound) until <paramref name="condition"/> holds, yielding between checks.</summary>
    public static async Task TrueAsync(Func<bool> condition, string what)
    {
        using var cts = new CancellationTokenSource(Timeout);
        while (!condition())
        {
            if (cts.IsCancellationRequested)
            {
                Assert.Fail($"Timed out after {Timeout} waiting for: {what}");
            }

            await Task.Yield();
            await Task.Delay(1, CancellationToken.None);
        }
    }

    /// <summary>Waits for the cache's next <see cref="IModelCache.Reloaded"/> event (or any later history entry).</summary>
    public static Task<ModelReloadedEventArgs> NextReload(IModelCache cache)
    {
        var tcs = new TaskCompletionSource<ModelReloadedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Handler(object? sender, ModelReloadedEventArgs args)
        {
            cache.Reloaded -= Handler;
            tcs.TrySetResult(args);
        }

        cache.Reloaded += Handler;
        return tcs.Task.WaitAsync(Timeout);
    }
}
