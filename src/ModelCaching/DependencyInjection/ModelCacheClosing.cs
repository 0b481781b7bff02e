using Microsoft.Extensions.Logging;
using ModelCaching.Diagnostics;

namespace ModelCaching;

/// <summary>How the provider closes the caches it made when it is disposed (host shutdown).</summary>
internal static class ModelCacheClosing
{
    /// <summary>
    /// Closes the caches (newest first), then waits for the loads that were running to end: all caches together, under
    /// <paramref name="timeout"/> in total, logging the models whose loads it leaves running.
    /// </summary>
    public static async Task CloseAllAsync(List<IModelCache> caches, TimeSpan timeout, ILogger logger)
    {
        if (caches.Count == 0)
        {
            return;
        }

        // Closing a cache is quick (timers, watchers, its load cancelled, its model disposed once leases end) but runs
        // user code (a source's or a model's Dispose), so it runs on the pool, inside the same deadline as the wait.
        var ended = new Task?[caches.Count];
        Task all = Task.Run(() => CloseAllAsync(caches, ended));
        if (await Task.WhenAny(all, Task.Delay(timeout)).ConfigureAwait(false) == all)
        {
            await all.ConfigureAwait(false);
        }
        else
        {
            string[] running = [.. caches.Where((_, i) => Volatile.Read(ref ended[i]) is not { IsCompleted: true }).Select(static c => c.Name)];
            Log.ShutdownLeftLoadsRunning(logger, timeout, running.Length, string.Join(", ", running.Take(10).Select(static n => $"'{ModelNames.Shorten(n)}'")) + (running.Length > 10 ? ", …" : string.Empty));
        }
    }

    // Closes each cache (newest first) and returns when the loads of all of them have ended; a cache's failure to
    // dispose does not stop the others from closing.
    private static async Task CloseAllAsync(List<IModelCache> caches, Task?[] ended)
    {
        List<Exception>? errors = null;
        for (int i = 0; i < caches.Count; i++)
        {
            try
            {
                Volatile.Write(ref ended[i], Close(caches[i]));
            }
            catch (Exception ex)
            {
                Volatile.Write(ref ended[i], Task.CompletedTask);
                (errors ??= []).Add(ex);
            }
        }

        await Task.WhenAll(ended!).ConfigureAwait(false);
        if (errors is not null)
        {
            throw new AggregateException("Disposing one or more model caches failed.", errors);
        }
    }

    private static Task Close(IModelCache cache) => cache switch
    {
        IOwnedModelCache owned => owned.CloseAsync(),
        IAsyncDisposable disposable => disposable.DisposeAsync().AsTask(),
        IDisposable disposable => DisposeSynchronously(disposable),
        _ => Task.CompletedTask,
    };

    private static Task DisposeSynchronously(IDisposable disposable)
    {
        disposable.Dispose();
        return Task.CompletedTask;
    }
}
