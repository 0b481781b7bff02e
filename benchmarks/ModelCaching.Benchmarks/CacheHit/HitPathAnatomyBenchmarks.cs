using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;

namespace ModelCaching.Benchmarks.CacheHit;

/// <summary>
/// Where the nanoseconds of a <c>GetModel()</c> hit go: the hit path of <c>ModelCache&lt;TModel&gt;</c> rebuilt
/// step by step (a volatile read of the serving generation, then counting the hit the way the cache counts it,
/// then the alternatives), each behind the same kind of call, against <see cref="Lazy{T}.Value"/>. Used to find
/// why <see cref="CacheHitBenchmarks"/> misses its budget and what a fix would buy; the real cache is measured there.
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet derives from benchmark classes.</remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 5, iterationCount: 15)]
public class HitPathAnatomyBenchmarks
{
    private readonly HitPath _path = new();
    private readonly IHitPath _viaInterface = new HitPath();
    private Lazy<HitModel> _lazy = null!;

    [GlobalSetup]
    public void Setup()
    {
        _lazy = new Lazy<HitModel>(static () => new HitModel("lazy"), LazyThreadSafetyMode.ExecutionAndPublication);
        _ = _lazy.Value;
    }

    [Benchmark(Baseline = true, Description = "Lazy<T>.Value")]
    public HitModel LazyValue() => _lazy.Value;

    [Benchmark(Description = "volatile read of the generation (no counting)")]
    public HitModel ReadOnly() => _path.ReadOnly();

    [Benchmark(Description = "+ Thread.GetCurrentProcessorId()")]
    public HitModel ReadAndProcessorId() => _path.ReadAndProcessorId();

    [Benchmark(Description = "+ striped per-core increment (the hit path before PerThreadCounter)")]
    public HitModel ReadAndStripedIncrement() => _path.ReadAndStripedIncrement();

    [Benchmark(Description = "per-core hit path through an interface")]
    public HitModel ReadAndStripedIncrementViaInterface() => _viaInterface.ReadAndStripedIncrement();

    [Benchmark(Description = "+ [ThreadStatic] long increment (one counter only)")]
    public HitModel ReadAndThreadStaticIncrement() => _path.ReadAndThreadStaticIncrement();

    [Benchmark(Description = "+ 'used' flag, set only when clear")]
    public HitModel ReadAndMarkUsed() => _path.ReadAndMarkUsed();

    [Benchmark(Description = "'used' flag through an interface (TrackHits = false)")]
    public HitModel ReadAndMarkUsedViaInterface() => _viaInterface.ReadAndMarkUsed();

    [Benchmark(Description = "+ 'used' flag + count only while a listener is attached (none)")]
    public HitModel ReadAndCountWhileListening() => _path.ReadAndCountWhileListening();

    [Benchmark(Description = "+ 'used' flag + per-thread cell found through [ThreadStatic] (tried)")]
    public HitModel ReadAndThreadStaticCell() => _path.ReadAndThreadStaticCell();

    [Benchmark(Description = "+ 'used' flag + stack-region cell (StackRegionCounter, the hit path now)")]
    public HitModel ReadAndPerThreadIncrement() => _path.ReadAndPerThreadIncrement();

    [Benchmark(Description = "stack-region hit path through an interface (TrackHits = true)")]
    public HitModel ReadAndPerThreadIncrementViaInterface() => _viaInterface.ReadAndPerThreadIncrement();

    internal interface IHitPath
    {
        HitModel ReadAndStripedIncrement();

        HitModel ReadAndMarkUsed();

        HitModel ReadAndPerThreadIncrement();

        HitModel ReadAndThreadStaticCell();
    }

    /// <summary>
    /// The pieces of the cache's hit path; the generation is a one-field class as in the cache. Like the cache's
    /// <c>GetModel()</c>, the methods may be inlined when called on the class and are not when called through the interface.
    /// </summary>
    internal sealed class HitPath : IHitPath
    {
        [ThreadStatic]
        private static long t_hits;

        [ThreadStatic]
        private static long[]? t_cells;

        private readonly StripedCounterCopy _hits = new();
        private readonly ModelCaching.Diagnostics.StackRegionCounter _perThread = new();
        private readonly ModelCaching.Diagnostics.StackRegionCounter _whileListening = new();
        private volatile Generation? _current = new(new HitModel("generation"));
        private bool _used;
        public bool Listening { get; set; }

        public HitModel ReadOnly()
        {
            Generation? current = _current;
            return current is not null ? current.Model : Miss();
        }

        public HitModel ReadAndProcessorId()
        {
            Generation? current = _current;
            if (current is not null)
            {
                _ = Thread.GetCurrentProcessorId();
                return current.Model;
            }

            return Miss();
        }

        public HitModel ReadAndStripedIncrement()
        {
            Generation? current = _current;
            if (current is not null)
            {
                _hits.Increment();
                return current.Model;
            }

            return Miss();
        }

        public HitModel ReadAndThreadStaticIncrement()
        {
            Generation? current = _current;
            if (current is not null)
            {
                t_hits++;
                return current.Model;
            }

            return Miss();
        }

        public HitModel ReadAndMarkUsed()
        {
            Generation? current = _current;
            if (current is not null)
            {
                // Read first, write only when clear: after the first hit of an idle-timer period the cache line
                // stays shared (read-only) in every core's cache, so concurrent hits write nothing.
                if (!_used)
                {
                    _used = true;
                }

                return current.Model;
            }

            return Miss();
        }

        public HitModel ReadAndCountWhileListening()
        {
            Generation? current = _current;
            if (current is not null)
            {
                if (!_used)
                {
                    _used = true;
                }

                // The alternative to an always-on count: count only while a MeterListener or a statistics reader has
                // switched counting on. Statistics would then miss every hit before that moment.
                if (Listening)
                {
                    _whileListening.Increment();
                }

                return current.Model;
            }

            return Miss();
        }

        public HitModel ReadAndThreadStaticCell()
        {
            Generation? current = _current;
            if (current is not null)
            {
                if (!_used)
                {
                    _used = true;
                }

                // What a per-thread counter needs at least: the thread's cell array from thread-local storage (on
                // Linux x64 a call into the C library's TLS lookup), a bounds check and an increment.
                long[] cells = t_cells ??= new long[8];
                cells[3]++;
                return current.Model;
            }

            return Miss();
        }

        public HitModel ReadAndPerThreadIncrement()
        {
            Generation? current = _current;
            if (current is not null)
            {
                if (!_used)
                {
                    _used = true;
                }

                _perThread.Increment();
                return current.Model;
            }

            return Miss();
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static HitModel Miss() => throw new InvalidOperationException("The benchmark's generation is always set.");
    }

    internal sealed class Generation(HitModel model)
    {
        public HitModel Model { get; } = model;
    }

    /// <summary>A copy of the per-core counter the cache used before <c>PerThreadCounter</c> (StripedCounter.cs, removed).</summary>
    internal sealed class StripedCounterCopy
    {
        private readonly PaddedCell[] _cells;
        private readonly int _mask;

        public StripedCounterCopy()
        {
            int size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, Environment.ProcessorCount));
            _cells = new PaddedCell[size];
            _mask = size - 1;
        }

        public void Increment() => _cells[Thread.GetCurrentProcessorId() & _mask].Value++;

        [StructLayout(LayoutKind.Explicit, Size = 128)]
        private struct PaddedCell
        {
            [FieldOffset(64)]
            public long Value;
        }
    }
}
