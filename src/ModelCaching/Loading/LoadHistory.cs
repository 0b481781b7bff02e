namespace ModelCaching.Loading;

/// <summary>The last load attempts of a model (for status pages) and the counts behind its statistics. Thread-safe.</summary>
/// <remarks>
/// The records are an immutable array replaced on each attempt (copy on write) rather than a queue under a lock: most
/// models of a template load once and are never asked for their history, and an array of one record is 32 bytes where
/// a lock, a queue and its ring sized for <see cref="ModelOptions.HistoryLength"/> were about 330 per model. An attempt
/// copies at most <c>capacity</c> references, next to a load that takes milliseconds. The first record is kept alone,
/// without an array (most models load once: 32 bytes less per model); the array comes with the second. A cache's history
/// is its <see cref="Generations.ServingChanges{TModel}"/> itself, which derives from this class (one object a known name
/// fewer: its header and a reference, 24 bytes; issue 18); a history made on its own (tests) is one of these.
/// </remarks>
/// <param name="capacity">How many records are kept.</param>
/// <param name="observer">Told each record after it is added (the model's source, when it asks to be: <see cref="ILoadRecordObserver"/>).</param>
internal class LoadHistory(int capacity, ILoadRecordObserver? observer = null)
{
    // Null, the one record so far, or an array of two up to capacity records, the newest last.
    private object? _records;
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

        object? current = Volatile.Read(ref _records);
        while (true)
        {
            object? seen = Interlocked.CompareExchange(ref _records, Append(current, record), current);
            if (seen == current)
            {
                break;
            }

            current = seen;
        }

        observer?.OnRecorded(record);
    }

    public void CountUnload() => Interlocked.Increment(ref _unloads);

    /// <summary>
    /// Says who asked for the newest record of <paramref name="reason"/> and <paramref name="versionId"/> that names no
    /// caller yet, and what it did: the caller knows both, the load thread that recorded it did not. A record already
    /// dropped (older than <c>capacity</c> records) is left as it was; the observer was told the record when it was added.
    /// </summary>
    public void Amend(ModelLoadReason reason, string versionId, string? requestedBy, string? detail)
    {
        object? current = Volatile.Read(ref _records);
        while (current is not null)
        {
            ModelLoadRecord[] records = current as ModelLoadRecord[] ?? [(ModelLoadRecord)current];
            int index = Array.FindLastIndex(records, r => r.Reason == reason && r.VersionId == versionId && r.RequestedBy is null);
            if (index < 0)
            {
                return;
            }

            ModelLoadRecord[] next = [.. records];
            ModelLoadRecord record = records[index];
            next[index] = new ModelLoadRecord(record.At, record.Reason, record.Outcome, record.VersionId, record.Error) { RequestedBy = requestedBy, Detail = detail ?? record.Detail };
            object? seen = Interlocked.CompareExchange(ref _records, next.Length == 1 ? next[0] : next, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>The records, oldest first: a copy the caller owns.</summary>
    public IReadOnlyList<ModelLoadRecord> Snapshot() => Volatile.Read(ref _records) switch
    {
        null => [],
        ModelLoadRecord one => [one],
        var many => [.. (ModelLoadRecord[])many],
    };

    // The records after record: the newest last, the oldest dropped once there are capacity records.
    private object Append(object? current, ModelLoadRecord record)
    {
        ModelLoadRecord[] records = current switch
        {
            null => [],
            ModelLoadRecord one => [one],
            var many => (ModelLoadRecord[])many,
        };
        int kept = Math.Min(records.Length, capacity - 1);
        if (kept == 0)
        {
            return record;
        }

        var next = new ModelLoadRecord[kept + 1];
        Array.Copy(records, records.Length - kept, next, 0, kept);
        next[kept] = record;
        return next;
    }
}
