namespace ModelCaching.Loading;

/// <summary>
/// Counts the threads of abandoned load attempts (a step that ignored its token past the load timeout) that still run,
/// under a cap for the whole process. An abandoned attempt counted here has given back its load slot and its memory
/// reservation; one that finds the cap reached keeps its slot until its thread ends, and new attempts fail fast instead
/// of starting another thread that could hang too.
/// </summary>
/// <remarks>
/// With at most one abandoned attempt per model (<see cref="LoadCoordinator{TModel}"/>), the threads of a process's
/// loads stay within <see cref="Limit"/> plus the load slots of its providers, whatever the number of models.
/// </remarks>
internal sealed class AbandonedLoadThreads
{
    /// <summary>The process-wide cap.</summary>
    public const int DefaultLimit = 16;

    private int _count;

    public AbandonedLoadThreads(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        Limit = limit;
    }

    /// <summary>The count shared by every cache of the process.</summary>
    public static AbandonedLoadThreads Process { get; } = new(DefaultLimit);

    /// <summary>The most abandoned threads counted at once.</summary>
    public int Limit { get; }

    /// <summary>Abandoned threads that still run and were counted.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Whether no more abandoned threads may be counted: new attempts are refused.</summary>
    public bool IsFull => Count >= Limit;

    /// <summary>Counts one more abandoned thread, unless the cap is reached.</summary>
    public bool TryAdd()
    {
        int count = Volatile.Read(ref _count);
        while (count < Limit)
        {
            int seen = Interlocked.CompareExchange(ref _count, count + 1, count);
            if (seen == count)
            {
                return true;
            }

            count = seen;
        }

        return false;
    }

    /// <summary>A counted abandoned thread ended.</summary>
    public void Remove() => Interlocked.Decrement(ref _count);

    /// <summary>Why an attempt was refused, for its <see cref="ModelLoadException"/> (which names the model).</summary>
    public string RefusalMessage() =>
        $"the load was not started: {Count} abandoned load attempts (steps that ignored cancellation after their load timeout) are still running in this process, the cap of {Limit}; loads start again as they end";
}
