namespace ModelCaching.Budget;

/// <summary>A budget's accounting at one moment (for status, metrics and tests).</summary>
internal readonly record struct MemorySnapshot(long Limit, long Resident, long Draining, long Reserved, int Waiting, long Evictions)
{
    public long Used => Resident + Draining + Reserved;
}
