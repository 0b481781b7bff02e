using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.ML;
using ModelCaching.ML.Compatibility;

namespace ModelCaching.OutsideBenchmarks;

/// <summary>
/// <c>loop [--seconds S] [--rounds N] [--warmup S] [--csv FILE] [--probe on] [--threads 1,2]</c>: the throughput loop a user writes, built so that it
/// measures the pool and not itself. For 1 and 2 threads: one raw engine per thread, the compatible
/// <c>PredictionEnginePool.Predict(name, input)</c> and the native <c>PredictionPool.Predict(input)</c>, each way on the
/// same long-lived worker threads (as a server's), in a loop method of its own.
/// </summary>
/// <remarks>
/// What the design rules out (docs/pooling.md, "Measured from outside"):
/// <list type="bullet">
/// <item>A shared call site. An earlier loop ran every way through one <c>Work</c> loop calling one
/// <c>Func&lt;int, IrisPrediction&gt;</c>: the JIT compiled that loop once per process (and, most likely, dynamic PGO
/// specialised the delegate call for whichever way ran first), and that way stayed 4–14 ns per call faster for the rest
/// of the process.
/// Here <see cref="Loop{TWay}"/> is generic over a struct per way, so the JIT compiles one loop per way with a direct call.</item>
/// <item>Order: the ways run in a rotating order, a different one first in each round.</item>
/// <item>Warm-up: each way runs, twice over, for <c>--warmup</c> seconds and at least a million calls on every worker before
/// the first measured round (tier-0 code, on-stack replacement and each thread's first, kept engine are not measured).</item>
/// </list>
/// A round's ratio is a pool's predictions per second per thread divided by the raw engines' in the same round, by each
/// thread's CPU time (on a shared machine a thread waiting for a core is left out; wall time is printed beside it).
/// The CSV has, per thread count and pool, the median, minimum and maximum of the rounds' ratios.
/// </remarks>
internal static partial class ThroughputLoop
{
    private const string ModelName = "iris";
    private const string NativeName = "iris-native";
    // A warm-up runs at least this many calls per thread, however busy the machine (a warm-up of so many seconds could
    // end on a loaded machine before the engine's first ~130,000 calls, tier-0 code at about 1 µs each, were done).
    private const long WarmupCalls = 1_000_000;
    private static readonly string[] WayNames = ["raw", "compatible", "native", "pool-engine", "hit+raw"];

    public static int Run(string[] args)
    {
        double seconds = 0.5, warmup = 1;
        int rounds = 9;
        string? csv = null;
        bool probe = false;
        int[] threadCounts = [1, 2];
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--seconds": seconds = double.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--rounds": rounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--warmup": warmup = double.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--csv": csv = args[i + 1]; break;
                case "--probe": probe = args[i + 1] == "on"; break;
                case "--threads": threadCounts = [.. args[i + 1].Split(',').Select(t => int.Parse(t, CultureInfo.InvariantCulture))]; break;
                default: throw new ArgumentException($"Unknown option {args[i]}; use --seconds, --rounds, --warmup, --csv, --probe on, --threads 1,2.");
            }
        }

        var context = new MLContext(seed: 1);
        var services = new ServiceCollection();
        services.Configure<MLOptions>(o => o.MLContext = context);
        services.AddPredictionEnginePool<IrisData, IrisPrediction>().FromFile(ModelName, IrisData.ModelPath, watchForChanges: false);
        services.AddModelCache().AddModel<ITransformer>(NativeName, m => m.FromFile(IrisData.ModelPath).UseMLNet().WithPredictionPool<IrisData, IrisPrediction>());
        using ServiceProvider provider = services.BuildServiceProvider();
        PredictionEnginePool<IrisData, IrisPrediction> pool = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();
        PredictionPool<IrisData, IrisPrediction> native = provider.GetRequiredKeyedService<PredictionPool<IrisData, IrisPrediction>>(NativeName);
        ITransformer model = context.Model.Load(IrisData.ModelPath, out _);

        Console.WriteLine($"outside throughput loop: iris.zip, warm-up {warmup:0.##} s per way, then {rounds} rounds of {seconds:0.##} s per way in a rotating order, on long-lived threads, {Environment.ProcessorCount} cores, {DateTime.UtcNow:u}");
        Console.WriteLine();
        Console.WriteLine("| threads | round | order | raw, calls/s per thread (CPU; wall) | compatible (CPU; wall) | native (CPU; wall) | compatible ÷ raw (CPU; wall) | native ÷ raw (CPU; wall) |");
        Console.WriteLine("|---:|---:|---|---:|---:|---:|---:|---:|");
        var rows = new List<string> { "Threads,Way,Rounds,MedianRatio,MinRatio,MaxRatio" };
        // --probe on adds two ways, printed but not in the CSV: an engine rented from the native pool once per thread and
        // called directly (the engine's own cost: the pool's engines are built from the cache's copy of the model, with
        // the pool's engine options), and the cache hit the pool makes (GetModel) followed by the raw engine.
        int ways = probe ? 5 : 3;
        using var workers = new Workers(threadCounts.Max(), context, model, pool, native, probe);
        foreach (int threads in threadCounts)
        {
            // Twice over: the second pass runs every way again after all of them have been compiled once.
            for (int pass = 0; pass < 2; pass++)
            {
                for (int way = 0; way < ways; way++)
                {
                    workers.Measure(threads, way, warmup, WarmupCalls);
                }
            }

            List<double>[] ratios = [[], []];
            for (int round = 0; round < rounds; round++)
            {
                var result = new (double Cpu, double Wall)[ways];
                int[] order = [.. Enumerable.Range(0, ways).Select(k => (k + round) % ways)];
                if (round % 2 == 1)
                {
                    Array.Reverse(order); // every way before and after every other, over the rounds
                }

                foreach (int way in order)
                {
                    result[way] = workers.Measure(threads, way, seconds, minimumCalls: 0);
                }

                double compatible = result[1].Cpu / result[0].Cpu, nativeRatio = result[2].Cpu / result[0].Cpu;
                ratios[0].Add(compatible);
                ratios[1].Add(nativeRatio);
                Console.WriteLine($"| {threads} | {round + 1} | {string.Join(" ", order.Select(w => WayNames[w]))} | {result[0].Cpu:N0}; {result[0].Wall:N0} | {result[1].Cpu:N0}; {result[1].Wall:N0} | {result[2].Cpu:N0}; {result[2].Wall:N0} | {compatible:0.00}×; {result[1].Wall / result[0].Wall:0.00}× | {nativeRatio:0.00}×; {result[2].Wall / result[0].Wall:0.00}× |{(probe ? $" pool-engine ÷ raw {result[3].Cpu / result[0].Cpu:0.00}×, hit+raw ÷ raw {result[4].Cpu / result[0].Cpu:0.00}× (CPU)" : "")}");
            }

            Console.WriteLine($"| {threads} | median | | | | | {Median(ratios[0]):0.00}× | {Median(ratios[1]):0.00}× |");
            for (int p = 0; p < 2; p++)
            {
                rows.Add(string.Create(CultureInfo.InvariantCulture, $"{threads},{WayNames[p + 1]},{rounds},{Median(ratios[p]):0.000},{ratios[p].Min():0.000},{ratios[p].Max():0.000}"));
            }
        }

        PredictionPoolStatistics stats = native.GetStatistics();
        Console.WriteLine();
        Console.WriteLine($"native pool: {stats.EnginesCreated} engines created, {stats.ExtraEnginesCreated} extra, {stats.Waits} waits");
        if (csv is not null)
        {
            File.WriteAllLines(csv, rows);
            Console.WriteLine($"wrote {csv}");
        }

        return 0;
    }

    private static double Median(List<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>One way of predicting, as a struct so that <see cref="Loop{TWay}"/> is compiled once per way.</summary>
    private interface IWay
    {
        IrisPrediction Predict();
    }

    private readonly struct RawWay(PredictionEngine<IrisData, IrisPrediction> engine, IrisData input) : IWay
    {
        public IrisPrediction Predict() => engine.Predict(input);
    }

    private readonly struct CompatibleWay(PredictionEnginePool<IrisData, IrisPrediction> pool, IrisData input) : IWay
    {
        public IrisPrediction Predict() => pool.Predict(ModelName, input);
    }

    private readonly struct NativeWay(PredictionPool<IrisData, IrisPrediction> pool, IrisData input) : IWay
    {
        public IrisPrediction Predict() => pool.Predict(input);
    }

    // The cache hit the pool makes first (IModelCache.GetModel()), then the raw engine: the core's share of the pool's cost.
    private readonly struct HitThenRawWay(IModelCache<ITransformer> cache, PredictionEngine<IrisData, IrisPrediction> engine, IrisData input) : IWay
    {
        public IrisPrediction Predict()
        {
            GC.KeepAlive(cache.GetModel());
            return engine.Predict(input);
        }
    }

    // Predicts until told to stop; one compiled copy per TWay (a struct), with its own direct call.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long Loop<TWay>(TWay way, ref bool stop, long minimumCalls)
        where TWay : struct, IWay
    {
        long n = 0;
        IrisPrediction? last = null;
        while (n < minimumCalls || !Volatile.Read(ref stop))
        {
            for (int i = 0; i < 64; i++)
            {
                last = way.Predict();
            }

            n += 64;
        }

        GC.KeepAlive(last);
        return n;
    }

    /// <summary>
    /// Long-lived worker threads, each with its own raw engine, made on that thread; the controller hands them one way at
    /// a time.
    /// </summary>
    /// <remarks>
    /// Why each worker makes its engine itself: an engine writes its own objects on every call (its input row's value and
    /// position, its output row). Two engines made back to back on one thread sit side by side in memory, the last objects
    /// of the first next to the first of the second, and two threads predicting with them then write the same cache lines:
    /// the loop measured them at about 3.5M calls/s each at 2 threads against 8.5M alone (so the pools, whose engines are
    /// made on the threads that first use them, looked 1.64× faster than raw). Here each worker makes its engine in its own
    /// allocation context, one worker after the other, between two live 1 KB arrays (with its first call's allocations),
    /// so that no collection can compact two engines' objects against each other: one raw engine per thread, each
    /// with its own lines.
    /// </remarks>
    private sealed class Workers : IDisposable
    {
        private readonly Thread[] _threads;
        private readonly SemaphoreSlim[] _go;
        private readonly CountdownEvent _done = new(0);
        private readonly MLContext _context;
        private readonly ITransformer _model;
        private readonly PredictionEngine<IrisData, IrisPrediction>[] _engines;

        // Live arrays allocated just before and just after each raw engine: a collection compacts the survivors in the order
        // they were allocated, so these stay between one engine's objects and the next one's (see the remarks).
        private const int Padding = 1024;
        private readonly byte[][][] _padding;
        private readonly PredictionEnginePool<IrisData, IrisPrediction> _pool;
        private readonly PredictionPool<IrisData, IrisPrediction> _native;
        private readonly Result[] _results;
        private readonly PredictionEngineLease<IrisData, IrisPrediction>[] _leases;
        private Barrier? _start;
        private bool _stop;
        private int _way;
        private long _minimumCalls;
        private bool _exit;

        public Workers(int count, MLContext context, ITransformer model, PredictionEnginePool<IrisData, IrisPrediction> pool, PredictionPool<IrisData, IrisPrediction> native, bool probe)
        {
            _pool = pool;
            _native = native;
            _context = context;
            _model = model;
            _engines = new PredictionEngine<IrisData, IrisPrediction>[count];
            _padding = new byte[count][][];
            _results = new Result[count];
            _leases = probe ? new PredictionEngineLease<IrisData, IrisPrediction>[count] : [];
            _go = [.. Enumerable.Range(0, count).Select(_ => new SemaphoreSlim(0))];
            _threads = [.. Enumerable.Range(0, count).Select(i => new Thread(() => Serve(i)) { IsBackground = true, Name = $"worker {i}" })];
            // Each worker makes its raw engine first, one worker after the other (see the remarks).
            foreach (Thread thread in _threads)
            {
                _done.Reset(1);
                thread.Start();
                _done.Wait();
            }
        }

        /// <summary>
        /// Runs <paramref name="way"/> on the first <paramref name="threads"/> workers for <paramref name="seconds"/> and at
        /// least <paramref name="minimumCalls"/> calls each; calls per second per thread by CPU time and by wall time.
        /// </summary>
        public (double Cpu, double Wall) Measure(int threads, int way, double seconds, long minimumCalls)
        {
            _minimumCalls = minimumCalls;
            GC.Collect();
            GC.WaitForPendingFinalizers();
            _way = way;
            Volatile.Write(ref _stop, false);
            using var start = new Barrier(threads + 1);
            _start = start;
            _done.Reset(threads);
            for (int t = 0; t < threads; t++)
            {
                _go[t].Release();
            }

            start.SignalAndWait();
            Thread.Sleep(TimeSpan.FromSeconds(seconds));
            Volatile.Write(ref _stop, true);
            _done.Wait();
            double cpu = 0, wall = 0;
            for (int t = 0; t < threads; t++)
            {
                Result r = _results[t];
                wall += r.Calls / r.WallSeconds;
                cpu += r.Calls / (r.CpuSeconds > 0 ? r.CpuSeconds : r.WallSeconds);
            }

            return (cpu / threads, wall / threads);
        }

        public void Dispose()
        {
            _exit = true;
            foreach (SemaphoreSlim go in _go)
            {
                go.Release();
            }

            foreach (Thread thread in _threads)
            {
                thread.Join();
            }

            foreach (PredictionEngine<IrisData, IrisPrediction> engine in _engines)
            {
                engine.Dispose();
            }

            foreach (PredictionEngineLease<IrisData, IrisPrediction> lease in _leases)
            {
                lease.Dispose();
            }
        }

        private void Serve(int index)
        {
            IrisData input = IrisData.Virginica;
            _padding[index] = new byte[2][];
            _padding[index][0] = new byte[Padding];
            _engines[index] = _context.Model.CreatePredictionEngine<IrisData, IrisPrediction>(_model);
            _engines[index].Predict(input); // what the engine allocates at its first call, inside the padding too
            _padding[index][1] = new byte[Padding];
            if (_leases.Length > 0)
            {
                _leases[index] = _native.Rent();
            }

            _done.Signal();
            while (true)
            {
                _go[index].Wait();
                if (_exit)
                {
                    return;
                }

                _start!.SignalAndWait();
                long cpuStart = ThreadCpuNanoseconds();
                long wallStart = Stopwatch.GetTimestamp();
                long calls = _way switch
                {
                    0 => Loop(new RawWay(_engines[index], input), ref _stop, _minimumCalls),
                    1 => Loop(new CompatibleWay(_pool, input), ref _stop, _minimumCalls),
                    2 => Loop(new NativeWay(_native, input), ref _stop, _minimumCalls),
                    3 => Loop(new RawWay(_leases[index].Engine, input), ref _stop, _minimumCalls),
                    _ => Loop(new HitThenRawWay(_native.Cache, _engines[index], input), ref _stop, _minimumCalls),
                };
                _results[index] = new Result(calls, (ThreadCpuNanoseconds() - cpuStart) / 1e9, Stopwatch.GetElapsedTime(wallStart).TotalSeconds);
                _done.Signal();
            }
        }

        private readonly record struct Result(long Calls, double CpuSeconds, double WallSeconds);
    }

    // The calling thread's CPU time in nanoseconds (0 where the clock is not available): ThreadCpuClock's clock.
    private static long ThreadCpuNanoseconds() => ThreadCpuClock.ThreadCpuNanoseconds();
}
