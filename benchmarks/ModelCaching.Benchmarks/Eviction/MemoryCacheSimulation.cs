using System.Runtime.CompilerServices;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Internal;

namespace ModelCaching.Benchmarks.Eviction;

/// <summary>
/// LRU as a user builds it: a <see cref="MemoryCache"/> with <see cref="MemoryCacheOptions.SizeLimit"/> = the budget and
/// each model cached with <see cref="MemoryCacheEntryOptions.Size"/> = its bytes, read with <c>TryGetValue</c> and, on a
/// miss, loaded and <c>Set</c>.
/// </summary>
/// <remarks>
/// <para>
/// MemoryCache's own behaviour is kept as it is: a <c>Set</c> that would exceed the limit is refused (the model just
/// loaded serves its caller but is not cached) and queues an overcapacity compaction on the thread pool, which removes
/// least recently accessed entries until the cache is at <see cref="MemoryCacheOptions.CompactionPercentage"/> (5%)
/// below the limit.
/// </para>
/// <para>
/// Two things make it deterministic without changing that behaviour. The clock (<see cref="MemoryCacheOptions.Clock"/>)
/// advances one tick per reading, so every access has its own LastAccessed and the LRU order has no ties (the real clock
/// gives equal stamps to accesses within its resolution, and compaction's unstable sort would then order them at
/// random). After a refused <c>Set</c>, the simulation waits (bounded) until the compaction it queued has finished before
/// serving the next request. MemoryCache runs one compaction at a time: a <c>Set</c> refused while one runs queues no
/// other, and the private flag it keeps for that (<c>lockFlag</c>, set before the work is queued and cleared when it
/// ends) is the only sign that the work ended, so the simulation reads it. In a service, requests that arrive while
/// compaction runs would also be refused, so waiting is MemoryCache's best case.
/// </para>
/// </remarks>
internal sealed class MemoryCacheSimulation : SimulatedCache, IDisposable
{
    private static readonly TimeSpan CompactionTimeout = TimeSpan.FromSeconds(30);
    private readonly MemoryCache _cache;
    private readonly long _lowWatermark;
    private readonly object[] _keys;
    private readonly object _model = new();

    public MemoryCacheSimulation(EvictionWorkload workload, long budgetBytes)
        : base(workload, budgetBytes)
    {
        var options = new MemoryCacheOptions { SizeLimit = budgetBytes, TrackStatistics = true, Clock = new TickingClock() };
        _lowWatermark = budgetBytes - (long)(budgetBytes * options.CompactionPercentage);
        _cache = new MemoryCache(options);
        _keys = new object[workload.ModelCount];
        for (int i = 0; i < _keys.Length; i++)
        {
            _keys[i] = "tenant-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    public override long ResidentBytes => _cache.GetCurrentStatistics()!.CurrentEstimatedSize ?? 0;

    /// <summary>Overcapacity compactions waited for (each one followed a refused <c>Set</c>).</summary>
    public int Compactions { get; private set; }

    /// <summary>
    /// Compactions that ended with the cache still above its low watermark. MemoryCache does this now and then (the
    /// same requests each run, so it is part of its behaviour, not of the timing); the harness reports how often.
    /// </summary>
    public int CompactionsAboveLowWatermark { get; private set; }

    public override bool Access(int index)
    {
        int model = Workload.Trace[index];
        object key = _keys[model];
        if (_cache.TryGetValue(key, out _))
        {
            return true;
        }

        int before = _cache.Count;
        _cache.Set(key, _model, new MemoryCacheEntryOptions { Size = Workload.Sizes[model] });
        if (_cache.Count == before)
        {
            Compactions++;
            if (!SpinWait.SpinUntil(() => Volatile.Read(ref CompactionRunning(_cache)) == 0, CompactionTimeout))
            {
                throw new TimeoutException($"MemoryCache's overcapacity compaction did not end within {CompactionTimeout}.");
            }

            if (ResidentBytes > _lowWatermark)
            {
                CompactionsAboveLowWatermark++;
            }
        }

        return false;
    }

    public void Dispose() => _cache.Dispose();

    // MemoryCache's "a compaction is queued or running" flag (see the remarks).
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "lockFlag")]
    private static extern ref int CompactionRunning(MemoryCache cache);

    /// <summary>A clock that moves one tick per reading: distinct, ordered LastAccessed stamps.</summary>
    private sealed class TickingClock : ISystemClock
    {
        private long _ticks = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).UtcTicks;

        public DateTimeOffset UtcNow => new(Interlocked.Increment(ref _ticks), TimeSpan.Zero);
    }
}
