#nullable enable

namespace ModelCaching.Testing;

/// <summary>
/// Bounded waits for work on other threads, shared by every test project (linked from tests/Shared by
/// tests/Directory.Build.props): a condition polled until it holds, or the next reload of a cache; never a bare sleep.
/// </summary>
public static class Eventually
{
    /// <summary>A bound for a loaded 2-core CI machine, not a wait: a passing test returns as soon as its condition holds.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

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

    /// <summary>
    /// Waits (with a bound) until the asynchronous <paramref name="condition"/> holds: a check that does I/O (a health
    /// check reading Redis) is awaited, never blocked on, so a busy thread pool is not starved further by the wait itself.
    /// </summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string what)
    {
        using var cts = new CancellationTokenSource(Timeout);
        while (!await condition().ConfigureAwait(false))
        {
            if (cts.IsCancellationRequested)
            {
                Assert.Fail($"Timed out after {Timeout} waiting for: {what}");
            }

            await Task.Delay(1, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Waits for the cache's next <see cref="IModelCache.Reloaded"/> event.</summary>
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
