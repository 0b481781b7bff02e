namespace ModelCaching.Budget;

/// <summary>
/// The bytes charged within the last drain delay of each load (the loading model's EvictionDrainDelay): in steady state
/// about what evictions leave draining when the next miss comes, so the background trim keeps that much room free
/// (<see cref="MemoryBudget.Headroom"/>).
/// </summary>
/// <remarks>
/// The clock is the injected <see cref="TimeProvider"/>, read by loads only (<see cref="Now"/>, outside the budget's
/// lock), never on a hit. The rest is single-threaded by contract (the budget's lock). A <see cref="PriorityQueue{TElement, TPriority}"/>
/// because the models of one budget may have different drain delays: one entry per load within its window.
/// </remarks>
internal sealed class RecentLoads(TimeProvider timeProvider)
{
    // Bytes by when they leave the window, in seconds on the clock.
    private readonly PriorityQueue<long, double> _loads = new();

    /// <summary>Bytes charged within their drain delay, as of the latest <see cref="Record"/>.</summary>
    public long Bytes { get; private set; }

    /// <summary>The clock now, in seconds.</summary>
    public double Now() => (double)timeProvider.GetTimestamp() / timeProvider.TimestampFrequency;

    /// <summary>Forgets the loads whose drain delay has passed by <paramref name="now"/>, then counts this one for its drain delay.</summary>
    public void Record(double now, long bytes, TimeSpan drainDelay)
    {
        while (_loads.TryPeek(out long old, out double until) && until <= now)
        {
            _loads.Dequeue();
            Bytes -= old;
        }

        if (drainDelay > TimeSpan.Zero && bytes > 0)
        {
            _loads.Enqueue(bytes, now + drainDelay.TotalSeconds);
            Bytes += bytes;
        }
    }
}
