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

    [Benchmark(Description = "+ striped per-core increment (today's hit path)")]
    public HitModel ReadAndStripedIncrement() => _path.ReadAndStripedIncrement();

    [Benchmark(Description = "today's hit path through an interface")]
    public HitModel ReadAndStripedIncrementViaInterface() => _viaInterface.ReadAndStripedIncrement();

    [Benchmark(Description = "+ [ThreadStatic] increment instead")]
    public HitModel ReadAndThreadStaticIncrement() => _path.ReadAndThreadStaticIncrement();

    [Benchmark(Description = "+ 'used' flag, set only when clear (proposed)")]
    public HitModel ReadAndMarkUsed() => _path.ReadAndMarkUsed();

    [Benchmark(Description = "proposed hit path through an interface")]
    public HitModel ReadAndMarkUsedViaInterface() => _viaInterface.ReadAndMarkUsed();

    internal interface IHitPath
    {
        HitModel ReadAndStripedIncrement();

        HitModel ReadAndMarkUsed();
    }

    /// <summary>
    /// The pieces of the cache's hit path; the generation is a one-field class as in the cache. Like the cache's
    /// <c>GetModel()</c>, the methods may be inlined when called on the class and are not when called through the interface.
    /// </summary>
    internal sealed class HitPath : IHitPath
    {
        [ThreadStatic]
        private static long t_hits;

        private readonly StripedCounterCopy _hits = new();
        private volatile Generation? _current = new(new HitModel("generation"));
        private bool _used;

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

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static HitModel Miss() => throw new InvalidOperationException("The benchmark's generation is always set.");
    }

    internal sealed class Generation(HitModel model)
    {
        public HitModel Model { get; } = model;
    }

    /// <summary>A copy of src/ModelCaching/Diagnostics/StripedCounter.cs (internal there).</summary>
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
