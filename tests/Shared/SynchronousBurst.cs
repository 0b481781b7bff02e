namespace ModelCaching.Testing;

/// <summary>
/// A burst of synchronous callers, as the first requests on a cold model are: each call is queued on the thread pool at
/// once, so every blocked caller holds a pool thread.
/// </summary>
public static class SynchronousBurst
{
    // A bound for a loaded 2-core CI machine, not a timing claim: the cache answers such a burst in well under a second.
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>Runs <paramref name="call"/> <paramref name="callers"/> times on pool threads; a throw counts as failed.</summary>
    /// <returns>How many calls returned <see langword="true"/>, and how many returned <see langword="false"/> or threw.</returns>
    public static (int Succeeded, int Failed) Run(int callers, Func<bool> call)
    {
        int succeeded = 0;
        int failed = 0;
        using var done = new CountdownEvent(callers);
        for (int i = 0; i < callers; i++)
        {
            ThreadPool.QueueUserWorkItem(_ =>
            {
                try
                {
                    Interlocked.Increment(ref call() ? ref succeeded : ref failed);
                }
                catch
                {
                    Interlocked.Increment(ref failed);
                }
                finally
                {
                    done.Signal();
                }
            });
        }

        Assert.True(done.Wait(Bound), $"{done.CurrentCount} of {callers} synchronous callers were still waiting after {Bound}.");
        return (succeeded, failed);
    }
}
