namespace ModelCaching.Loading;

/// <summary>The last load attempts of a model (for status pages) and the counts behind its statistics. Thread-safe.</summary>
internal sealed class LoadHistory(int capacity)
{
    private readonly Lock _gate = new();
    private readonly Queue<ModelLoadRecord> _records = new(Math.Min(capacity, 64));
    private long _loads;
    private long _failures;
    private long _unloads;

    public long Loads => Interlocked.Read(ref _loads);

    public long Failures => Interlocked.Read(ref _failures);

    public long Unloads => Interlocked.Read(ref _unloads);

    /// <summary>Records an attempt: a success counts as a load; a failure or a skipped known-bad content as a failure.</summary>
    public void Add(ModelLoadRecord record)
    {
        switch (record.Outcome)
        {
            case ModelLoadOutcome.Success:
                Interlocked.Increment(ref _loads);
                break;
            case ModelLoadOutcome.Failure or ModelLoadOutcome.Skipped:
                Interlocked.Increment(ref _failures);
                break;
        }

        lock (_gate)
        {
            if (_records.Count >= capacity)
            {
                _records.Dequeue();
            }

            _records.Enqueue(record);
        }
    }

    public void CountUnload() => Interlocked.Increment(ref _unloads);

    public IReadOnlyList<ModelLoadRecord> Snapshot()
    {
        lock (_gate)
        {
            return [.. _records];
        }
    }
}
