using ModelCaching.Loading;

namespace ModelCaching;

/// <summary>
/// Limits how many model loads run at once across every cache of a provider (<see cref="ModelCacheOptions.MaxConcurrentLoads"/>).
/// Loads that find every slot taken wait in a first-come, first-served queue without a thread of their own: the load
/// that releases a slot starts the next one.
/// </summary>
/// <remarks>
/// Hand-written rather than a <see cref="SemaphoreSlim"/>: an async waiter of a semaphore resumes on the thread pool,
/// and a burst of synchronous callers blocked on a cold model can hold every pool thread, so a queued load would never
/// start. Here a slot is handed straight to the waiting load, which starts its own thread.
/// <para>
/// A load abandoned at its timeout gives its slot back at once (its thread is counted in <see cref="AbandonedThreads"/>
/// instead), so a hung callback of one model does not stop the others from loading.
/// </para>
/// </remarks>
internal sealed class ModelLoadLimiter : IDisposable
{
    private readonly int _maxConcurrentLoads;
    private readonly Queue<ILoadSlotWaiter> _waiting = new();
    private readonly Lock _gate = new();
    private int _running;

    /// <param name="maxConcurrentLoads">The slots.</param>
    /// <param name="queueTimeout">How long a load may wait for a slot; infinite when <see langword="null"/>.</param>
    /// <param name="abandonedThreads">The count and cap of abandoned load threads: the process's, unless a test gives its own.</param>
    public ModelLoadLimiter(int maxConcurrentLoads, TimeSpan? queueTimeout = null, AbandonedLoadThreads? abandonedThreads = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrentLoads, 1);
        _maxConcurrentLoads = maxConcurrentLoads;
        QueueTimeout = queueTimeout ?? Timeout.InfiniteTimeSpan;
        AbandonedThreads = abandonedThreads ?? AbandonedLoadThreads.Process;
    }

    /// <summary>How long a load may wait for a slot (<see cref="ModelCacheOptions.LoadQueueTimeout"/>).</summary>
    public TimeSpan QueueTimeout { get; }

    /// <summary>The threads of abandoned loads that gave back their slot, under a cap for the process.</summary>
    public AbandonedLoadThreads AbandonedThreads { get; }

    /// <summary>A limiter that never queues, for caches created on their own.</summary>
    public static ModelLoadLimiter Unlimited { get; } = new(int.MaxValue);

    /// <summary>Loads that hold a slot now (an abandoned one only when the cap of abandoned threads made it keep its slot).</summary>
    public int Running
    {
        get
        {
            lock (_gate)
            {
                return _running;
            }
        }
    }

    /// <summary>Loads waiting for a slot.</summary>
    public int Queued
    {
        get
        {
            lock (_gate)
            {
                return _waiting.Count;
            }
        }
    }

    /// <summary>Gives <paramref name="waiter"/> a slot once one is free: now, or when an earlier load releases its slot.</summary>
    public void Enter(ILoadSlotWaiter waiter)
    {
        lock (_gate)
        {
            if (_running >= _maxConcurrentLoads)
            {
                _waiting.Enqueue(waiter);
                return;
            }

            _running++;
        }

        if (!waiter.OnSlot())
        {
            Release();
        }
    }

    /// <summary>Gives the slot to the next waiting load, or frees it.</summary>
    public void Release()
    {
        // A loop, not recursion: a queue of loads abandoned while they waited passes the slot along one by one.
        while (true)
        {
            ILoadSlotWaiter? next;
            lock (_gate)
            {
                if (!_waiting.TryDequeue(out next))
                {
                    _running--;
                    return;
                }
            }

            if (next.OnSlot())
            {
                return;
            }
        }
    }

    public void Dispose()
    {
    }
}
