using System.Diagnostics;
using System.Globalization;
using System.Text;
using ModelCaching.Benchmarks.Policies;
using ModelCaching.Generations;

namespace ModelCaching.Benchmarks.CacheHit;

/// <summary>
/// <c>--harness hit-throughput [seconds] [csv]</c>: the hit and the lease measured as throughput over seconds, for a
/// machine whose noise is larger than the nanoseconds BenchmarkDotNet resolves. Each variant runs a loop of calls for
/// about 20 ms, the variants take turns round after round (so load that comes and goes hits them all alike), and each
/// round's time per call is divided by the same round's <see cref="Lazy{T}.Value"/>: the median of those ratios is
/// the figure. Writes a CSV (one row per variant) when a path is given.
/// </summary>
public sealed class HitThroughputHarness : IHarness
{
    private const int CallsPerSlice = 1 << 22;

    private static HitModel s_model = new("static");

    private readonly HitPathAnatomyBenchmarks.IHitPath _anatomy = new HitPathAnatomyBenchmarks.HitPath();
    private Lazy<HitModel> _lazy = null!;
    private IModelCache<HitModel> _counted = null!;
    private IModelCache<HitModel> _eager = null!;
    private IModelCache<HitModel> _expiring = null!;
    private IModelCache<HitModel> _uncounted = null!;
    private ModelGeneration<HitModel> _generation = null!;
    private object? _sink;

    public string Name => "hit-throughput";

    public async Task<int> RunAsync(string[] args)
    {
        double seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 20;
        string? csv = args.Length > 1 ? args[1] : null;

        s_model = new HitModel("static");
        _lazy = new Lazy<HitModel>(static () => new HitModel("lazy"), LazyThreadSafetyMode.ExecutionAndPublication);
        _ = _lazy.Value;
        await using PolicyHost<HitModel> lazyHost = await PolicyHost<HitModel>.StartAsync(CachePolicy.Lazy, "lazy", HitModel.FromMemory);
        await using PolicyHost<HitModel> eagerHost = await PolicyHost<HitModel>.StartAsync(CachePolicy.Eager, "eager", HitModel.FromMemory);
        await using PolicyHost<HitModel> expiringHost = await PolicyHost<HitModel>.StartAsync(CachePolicy.Expiring, "expiring", HitModel.FromMemory, timeToLive: TimeSpan.FromHours(1), idleTimeout: TimeSpan.FromHours(1));
        await using PolicyHost<HitModel> uncountedHost = await PolicyHost<HitModel>.StartAsync(CachePolicy.Lazy, "uncounted", HitModel.FromMemory, configure: static o => o.TrackHits = false);
        _counted = lazyHost.Cache;
        _eager = eagerHost.Cache;
        _expiring = expiringHost.Cache;
        _uncounted = uncountedHost.Cache;
        await _counted.GetModelAsync();
        await _expiring.GetModelAsync();
        await _uncounted.GetModelAsync();
        _generation = new ModelGeneration<HitModel>("generation", new HitModel("g"), new ModelVersion("g", 1, "memory", DateTimeOffset.UnixEpoch, 0), null, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        (string Name, Action Loop)[] variants =
        [
            ("Lazy<T>.Value (baseline)", LazyLoop),
            ("static field", StaticLoop),
            ("GetModel() lazy (default: TrackHits = true)", () => GetModelLoop(_counted)),
            ("GetModel() eager (default)", () => GetModelLoop(_eager)),
            ("GetModel() expiring (default)", () => GetModelLoop(_expiring)),
            ("GetModel() lazy, TrackHits = false", () => GetModelLoop(_uncounted)),
            ("anatomy: per-core count (before), via interface", AnatomyStripedLoop),
            ("anatomy: stack-region count (now), via interface", AnatomyPerThreadLoop),
            ("anatomy: [ThreadStatic] cell (tried), via interface", AnatomyThreadStaticLoop),
            ("anatomy: no count, via interface", AnatomyUncountedLoop),
            ("Acquire()+Dispose() (default)", () => LeaseLoop(_counted)),
            ("Acquire()+Dispose(), TrackHits = false", () => LeaseLoop(_uncounted)),
            ("lease refcount only (before: no ticket)", RefCountLoop),
        ];

        foreach ((_, Action loop) in variants)
        {
            loop(); // JIT and tiering
            loop();
        }

        var perRound = new List<double>[variants.Length];
        var ratios = new List<double>[variants.Length];
        for (int i = 0; i < variants.Length; i++)
        {
            perRound[i] = [];
            ratios[i] = [];
        }

        var total = Stopwatch.StartNew();
        var slice = new Stopwatch();
        while (total.Elapsed.TotalSeconds < seconds)
        {
            double baseline = 0;
            for (int i = 0; i < variants.Length; i++)
            {
                slice.Restart();
                variants[i].Loop();
                double ns = slice.Elapsed.TotalNanoseconds / CallsPerSlice;
                perRound[i].Add(ns);
                if (i == 0)
                {
                    baseline = ns;
                }

                ratios[i].Add(ns / baseline);
            }
        }

        int rounds = perRound[0].Count;
        Console.WriteLine($"hit-throughput: {rounds} rounds of {CallsPerSlice:N0} calls per variant in {total.Elapsed.TotalSeconds:0.0} s; {Environment.ProcessorCount} cores.");
        Console.WriteLine();
        Console.WriteLine("| variant | median ns/call | p25 | p75 | median ratio to Lazy<T>.Value (same round) | median ns over Lazy<T>.Value (same round) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        var text = new StringBuilder("Variant,MedianNs,P25Ns,P75Ns,MedianRatio,MedianNsOverBaseline,Rounds\n");
        for (int i = 0; i < variants.Length; i++)
        {
            double[] over = [.. perRound[i].Select((ns, round) => ns - perRound[0][round])];
            double median = Percentile(perRound[i], 50), p25 = Percentile(perRound[i], 25), p75 = Percentile(perRound[i], 75);
            double ratio = Percentile(ratios[i], 50), overBaseline = Percentile(over, 50);
            Console.WriteLine($"| {variants[i].Name} | {median:0.00} | {p25:0.00} | {p75:0.00} | {ratio:0.00} | {overBaseline:+0.00;-0.00} |");
            text.Append(CultureInfo.InvariantCulture, $"\"{variants[i].Name}\",{median:0.000},{p25:0.000},{p75:0.000},{ratio:0.000},{overBaseline:0.000},{rounds}\n");
        }

        if (csv is not null)
        {
            await File.WriteAllTextAsync(csv, text.ToString());
            Console.WriteLine($"Wrote {csv}.");
        }

        return 0;
    }

    private static double Percentile(IEnumerable<double> values, double percentile)
    {
        double[] sorted = [.. values.Order()];
        double index = percentile / 100 * (sorted.Length - 1);
        int low = (int)Math.Floor(index), high = (int)Math.Ceiling(index);
        return sorted[low] + ((sorted[high] - sorted[low]) * (index - low));
    }

    private void LazyLoop()
    {
        HitModel? last = null;
        for (int i = 0; i < CallsPerSlice; i++)
        {
            last = Volatile.Read(ref _lazy).Value;
        }

        _sink = last;
    }

    private void StaticLoop()
    {
        HitModel? last = null;
        for (int i = 0; i < CallsPerSlice; i++)
        {
            last = Volatile.Read(ref s_model);
        }

        _sink = last;
    }

    private void GetModelLoop(IModelCache<HitModel> cache)
    {
        HitModel? last = null;
        for (int i = 0; i < CallsPerSlice; i++)
        {
            last = cache.GetModel();
        }

        _sink = last;
    }

    private void LeaseLoop(IModelCache<HitModel> cache)
    {
        HitModel? last = null;
        for (int i = 0; i < CallsPerSlice; i++)
        {
            using ModelLease<HitModel> lease = cache.Acquire();
            last = lease.Model;
        }

        _sink = last;
    }

    private void RefCountLoop()
    {
        // What a lease did before the ticket: one compare-and-swap to pin the generation, one decrement to let it go.
        ModelGeneration<HitModel> generation = _generation;
        HitModel? last = null;
        for (int i = 0; i < CallsPerSlice; i++)
        {
            if (generation.TryAcquire())
            {
                last = generation.Model;
                generation.Release();
            }
        }

        _sink = last;
    }

    private void AnatomyStripedLoop()
    {
        HitPathAnatomyBenchmarks.IHitPath path = _anatomy;
        HitModel? last = null;
        for (int i = 0; i < CallsPerSlice; i++)
        {
            last = path.ReadAndStripedIncrement();
        }

        _sink = last;
    }

    private void AnatomyPerThreadLoop()
    {
        HitPathAnatomyBenchmarks.IHitPath path = _anatomy;
        HitModel? last = null;
        for (int i = 0; i < CallsPerSlice; i++)
        {
            last = path.ReadAndPerThreadIncrement();
        }

        _sink = last;
    }

    private void AnatomyThreadStaticLoop()
    {
        HitPathAnatomyBenchmarks.IHitPath path = _anatomy;
        HitModel? last = null;
        for (int i = 0; i < CallsPerSlice; i++)
        {
            last = path.ReadAndThreadStaticCell();
        }

        _sink = last;
    }

    private void AnatomyUncountedLoop()
    {
        HitPathAnatomyBenchmarks.IHitPath path = _anatomy;
        HitModel? last = null;
        for (int i = 0; i < CallsPerSlice; i++)
        {
            last = path.ReadAndMarkUsed();
        }

        _sink = last;
    }
}
