namespace ModelCaching.Benchmarks.Policies;

/// <summary>
/// Tells a measuring thread whether a model load is running, so the calls it times can be put into
/// "during a reload" or "between reloads". Written by the loader, read by the measuring loop.
/// </summary>
public sealed class ReloadProbe
{
    private int _running;
    private long _started;
    private long _ended;

    /// <summary>Whether a load is running now.</summary>
    public bool IsLoading => Volatile.Read(ref _running) > 0;

    /// <summary>Loads started so far.</summary>
    public long Started => Interlocked.Read(ref _started);

    /// <summary>Loads ended so far (succeeded or failed).</summary>
    public long Ended => Interlocked.Read(ref _ended);

    /// <summary>Called by the loader when a load starts.</summary>
    public void OnLoadStarted()
    {
        Interlocked.Increment(ref _started);
        Interlocked.Increment(ref _running);
    }

    /// <summary>Called by the loader when a load ends.</summary>
    public void OnLoadEnded()
    {
        Interlocked.Decrement(ref _running);
        Interlocked.Increment(ref _ended);
    }
}
