using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using ModelCaching.Benchmarks.Concurrency;
using ModelCaching.Diagnostics;
using ModelCaching.Generations;

namespace ModelCaching.Benchmarks.CacheHit;

/// <summary>
/// Issue 18, "one per-thread primitive": the three ways the packages found "this thread's" slot, measured against each
/// other where they are used, on 1 and 2 threads. On the hit path: counting one hit in the thread's stack-region row
/// (<see cref="StackRegionCounter"/>, the core), in a cell found through a <c>[ThreadStatic]</c> (as ModelCaching.ML's
/// <c>EngineCell</c>), or in a per-core cell found through <see cref="Thread.GetCurrentProcessorId"/> (as ONNX's runner
/// slots and ML's <c>EngineGeneration</c>; interlocked, since two threads can share a core's cell). On the lease: the
/// pin of the thread's own row found through a <c>[ThreadStatic]</c> (<see cref="LeasePins"/>, the lease now, through
/// <c>ModelLease.TryTake</c>), the same pin protocol on a stack-region-hashed slot (the shape of the unmerged "lease"
/// branch: measured only, it is not safe, since two live threads can hash to one slot), a per-core pin found through
/// the processor id (it must be taken with a compare-and-swap), and the counted lease (a shared reference count and a
/// ticket: the fallback now; the lease before issue 18 rented its ticket from a stack-region spare). Each thread runs <see cref="CallsPerThread"/> calls per invocation; the time is
/// per call on each thread.
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet derives from benchmark classes.</remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 5, iterationCount: 15)]
public class ThreadAffinityBenchmarks
{
    /// <summary>Calls each thread makes per benchmark invocation.</summary>
    public const int CallsPerThread = 1_000_000;

    [ThreadStatic]
    private static long[]? t_cells;

    private const int RegionShift = 14;
    private const int RegionSlots = 512;

    // The stack-region pins: one per 64 bytes, indexed by the calling thread's stack region (hashed: not owned).
    private static readonly PinCell[] s_regionPins = [.. Enumerable.Range(0, RegionSlots).Select(static _ => new PinCell())];

    private readonly object?[] _sinks = new object?[64];
    private ParallelLoopRunner _runner = null!;
    private StackRegionCounter _regionCounter = null!;
    private ProcessorCells _processorCells = null!;
    private ModelGeneration<HitModel> _generation = null!;
    private Action<int> _regionCount = null!;
    private Action<int> _threadStaticCount = null!;
    private Action<int> _processorCount = null!;
    private Action<int> _regionLease = null!;
    private Action<int> _threadStaticLease = null!;
    private Action<int> _processorLease = null!;
    private Action<int> _countedLease = null!;
    private Action<int> _processorPoolSlot = null!;
    private Action<int> _regionPoolSlot = null!;

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _runner = new ParallelLoopRunner(Threads);
        _regionCounter = new StackRegionCounter();
        _processorCells = new ProcessorCells();
        var version = new ModelVersion("affinity", 1, "memory", DateTimeOffset.UnixEpoch, 0);
        _generation = new ModelGeneration<HitModel>("affinity", new HitModel("affinity"), version, null, NullLogger.Instance);

        // Delegates made once, so an invocation allocates nothing.
        _regionCount = RegionCountLoop;
        _threadStaticCount = ThreadStaticCountLoop;
        _processorCount = ProcessorCountLoop;
        _regionLease = RegionLeaseLoop;
        _threadStaticLease = ThreadStaticLeaseLoop;
        _processorLease = ProcessorLeaseLoop;
        _countedLease = CountedLeaseLoop;
        _processorPoolSlot = ProcessorPoolSlotLoop;
        _regionPoolSlot = RegionPoolSlotLoop;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _runner.Dispose();
        _generation.Retire();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = CallsPerThread, Description = "hit count: stack-region row (core)")]
    public void RegionCount() => _runner.Run(_regionCount);

    [Benchmark(OperationsPerInvoke = CallsPerThread, Description = "hit count: [ThreadStatic] cell")]
    public void ThreadStaticCount() => _runner.Run(_threadStaticCount);

    [Benchmark(OperationsPerInvoke = CallsPerThread, Description = "hit count: processor-id cell, interlocked")]
    public void ProcessorCount() => _runner.Run(_processorCount);

    [Benchmark(OperationsPerInvoke = CallsPerThread, Description = "lease: stack-region pin (hashed, unsafe; the lease branch)")]
    public void RegionLease() => _runner.Run(_regionLease);

    [Benchmark(OperationsPerInvoke = CallsPerThread, Description = "lease: [ThreadStatic] row pin (LeasePins, core now)")]
    public void ThreadStaticLease() => _runner.Run(_threadStaticLease);

    [Benchmark(OperationsPerInvoke = CallsPerThread, Description = "lease: processor-id pin (CAS to take)")]
    public void ProcessorLease() => _runner.Run(_processorLease);

    [Benchmark(OperationsPerInvoke = CallsPerThread, Description = "lease: counted (shared count + a new ticket: the fallback)")]
    public void CountedLease() => _runner.Run(_countedLease);

    [Benchmark(OperationsPerInvoke = CallsPerThread, Description = "pool slot: processor id + exchange (ONNX runners)")]
    public void ProcessorPoolSlot() => _runner.Run(_processorPoolSlot);

    [Benchmark(OperationsPerInvoke = CallsPerThread, Description = "pool slot: stack-region hash + exchange")]
    public void RegionPoolSlot() => _runner.Run(_regionPoolSlot);

    private void RegionCountLoop(int thread)
    {
        StackRegionCounter counter = _regionCounter;
        for (int i = 0; i < CallsPerThread; i++)
        {
            counter.Increment();
        }
    }

    private void ThreadStaticCountLoop(int thread)
    {
        for (int i = 0; i < CallsPerThread; i++)
        {
            ThreadStaticIncrement(3);
        }
    }

    private void ProcessorCountLoop(int thread)
    {
        ProcessorCells cells = _processorCells;
        for (int i = 0; i < CallsPerThread; i++)
        {
            cells.Increment();
        }
    }

    private void RegionLeaseLoop(int thread)
    {
        ModelGeneration<HitModel> generation = _generation;
        HitModel? last = null;
        for (int i = 0; i < CallsPerThread; i++)
        {
            // The LeasePins protocol (store the pin, read the retired flag; end with one compare-and-swap) on the slot
            // of the thread's stack region, as the unmerged lease branch found it: an address and a mask, no TLS read.
            PinCell cell = s_regionPins[(int)RegionOfThisThread() & (RegionSlots - 1)];
            long word = Volatile.Read(ref cell.Word);
            if ((uint)word == 0)
            {
                Volatile.Write(ref cell.Word, word | generation.PinId);
                if (!generation.IsRetired)
                {
                    last = generation.Model;
                }

                long taken = word | generation.PinId;
                Interlocked.CompareExchange(ref cell.Word, (long)unchecked((int)(word >> 32) + 1) << 32, taken);
            }
        }

        _sinks[thread * 8] = last;
    }

    private void ThreadStaticLeaseLoop(int thread)
    {
        ModelGeneration<HitModel> generation = _generation;
        HitModel? last = null;
        for (int i = 0; i < CallsPerThread; i++)
        {
            // What ModelCache.Acquire() and ModelLease.Dispose() do on a hit, without the cache around them.
            if (ModelLease<HitModel>.TryTake(generation, out ModelLease<HitModel> lease))
            {
                last = lease.Model;
                lease.Dispose();
            }
        }

        _sinks[thread * 8] = last;
    }

    private void ProcessorLeaseLoop(int thread)
    {
        ModelGeneration<HitModel> generation = _generation;
        ProcessorCells cells = _processorCells;
        HitModel? last = null;
        for (int i = 0; i < CallsPerThread; i++)
        {
            // A core's pin can be wanted by two threads at once (both scheduled on that core in turn), so taking it
            // is a compare-and-swap too: two interlocked operations per lease.
            ref long pin = ref cells.PinOfThisCore();
            long word = Volatile.Read(ref pin);
            long taken = word | generation.PinId;
            if ((uint)word == 0 && Interlocked.CompareExchange(ref pin, taken, word) == word)
            {
                if (!generation.IsRetired)
                {
                    last = generation.Model;
                }

                Interlocked.CompareExchange(ref pin, (long)unchecked((int)(word >> 32) + 1) << 32, taken);
            }
        }

        _sinks[thread * 8] = last;
    }

    private void CountedLeaseLoop(int thread)
    {
        ModelGeneration<HitModel> generation = _generation;
        HitModel? last = null;
        for (int i = 0; i < CallsPerThread; i++)
        {
            // The counted lease, the fallback past a thread's 4 pins: an interlocked reference count on the generation
            // and a new ticket (24 B) ended with one exchange. (Before issue 18 the ticket came from a stack-region spare.)
            if (generation.TryAcquire())
            {
                var lease = new ModelLease<HitModel>(generation);
                last = lease.Model;
                lease.Dispose();
            }
        }

        _sinks[thread * 8] = last;
    }

    private void ProcessorPoolSlotLoop(int thread)
    {
        ProcessorCells cells = _processorCells;
        object? last = null;
        for (int i = 0; i < CallsPerThread; i++)
        {
            // Rent and return an object as OnnxModel.RentRunner/ReturnRunner do; a miss (the slot was empty) makes none here.
            last = cells.RentAndReturn(Thread.GetCurrentProcessorId());
        }

        _sinks[thread * 8] = last;
    }

    private void RegionPoolSlotLoop(int thread)
    {
        ProcessorCells cells = _processorCells;
        object? last = null;
        for (int i = 0; i < CallsPerThread; i++)
        {
            // The same slots, indexed by the stack region mixed (stacks are megabytes apart, so the low bits alone collide).
            nint region = RegionOfThisThread();
            last = cells.RentAndReturn((int)(((ulong)region * 0x9E3779B97F4A7C15UL) >> 40));
        }

        _sinks[thread * 8] = last;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static nint RegionOfThisThread()
    {
        byte marker = 0;
        return Unsafe.ByteOffset(ref Unsafe.NullRef<byte>(), ref marker) >> RegionShift;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ThreadStaticIncrement(int slot)
    {
        long[] cells = t_cells ??= new long[8];
        cells[slot]++;
    }

    // A pin with 56 bytes after it (objects are allocated one after another, so cells of the table sit on their own lines).
    private sealed class PinCell
    {
        public long Word;
#pragma warning disable CS0169 // padding, never read
        private long _pad1, _pad2, _pad3, _pad4, _pad5, _pad6, _pad7;
#pragma warning restore CS0169
    }

    // Per-core cells and pins, padded, as the ONNX runner slots and ML's EngineGeneration index them.
    private sealed class ProcessorCells
    {
        private static readonly object s_spare = new();

        private readonly Cell[] _cells;
        private readonly int _mask;

        public ProcessorCells()
        {
            int size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(2, Environment.ProcessorCount * 2));
            _cells = new Cell[size];
            _mask = size - 1;
            for (int i = 0; i < size; i++)
            {
                _cells[i].Pooled = new object();
            }
        }

        public void Increment() => Interlocked.Increment(ref _cells[Thread.GetCurrentProcessorId() & _mask].Count);

        public ref long PinOfThisCore() => ref _cells[Thread.GetCurrentProcessorId() & _mask].Pin;

        public object? RentAndReturn(int index)
        {
            ref object? slot = ref _cells[index & _mask].Pooled;
            object? rented = Interlocked.Exchange(ref slot, null) ?? s_spare;
            Interlocked.CompareExchange(ref slot, rented, null);
            return rented;
        }

        [StructLayout(LayoutKind.Explicit, Size = 128)]
        private struct Cell
        {
            [FieldOffset(0)]
            public long Count;

            [FieldOffset(64)]
            public long Pin;

            [FieldOffset(72)]
            public object? Pooled;
        }
    }
}
