namespace ModelCaching.Redis.Tests.Support;

/// <summary>
/// Serves from every instance's cache on threads of its own until stopped, counting what was served and what failed (a
/// throw or no model): the "requests" that must go on while the control plane is down.
/// </summary>
public sealed class PredictionLoop : IDisposable
{
    private readonly Thread[] _threads;
    private volatile bool _stop;
    private long _served;
    private long _failed;

    public PredictionLoop(IReadOnlyList<IModelCache<string>> caches)
    {
        _threads = [.. caches.Select(cache => new Thread(() => Run(cache)) { IsBackground = true, Name = "prediction loop" })];
        foreach (Thread thread in _threads)
        {
            thread.Start();
        }
    }

    /// <summary>Waits (bounded) until every cache served more since the call.</summary>
    public Task WaitForMoreAsync()
    {
        long now = Interlocked.Read(ref _served);
        return Eventually.TrueAsync(() => Interlocked.Read(ref _served) > now + _threads.Length, "more predictions were served");
    }

    public (long Served, long Failed) Stop()
    {
        _stop = true;
        foreach (Thread thread in _threads)
        {
            thread.Join();
        }

        return (Interlocked.Read(ref _served), Interlocked.Read(ref _failed));
    }

    public void Dispose()
    {
        if (!_stop)
        {
            Stop();
        }
    }

    private void Run(IModelCache<string> cache)
    {
        while (!_stop)
        {
            try
            {
                string model = cache.GetModel();
                Interlocked.Increment(ref model.Length > 0 ? ref _served : ref _failed);
            }
            catch (Exception)
            {
                Interlocked.Increment(ref _failed);
            }

            Thread.Sleep(1); // Paced: a loaded 2-core machine is shared with the instances' own work.
        }
    }
}
