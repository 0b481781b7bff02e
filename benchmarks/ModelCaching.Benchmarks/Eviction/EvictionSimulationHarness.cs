using System.Diagnostics;
using System.Globalization;
using ModelCaching.Budget;

namespace ModelCaching.Benchmarks.Eviction;

/// <summary>
/// Eviction quality under a memory budget: 1,000 models of 1–100 MiB, Zipf requests (s = 0.8, 0.9, 1.0) and budgets of
/// 5%, 10% and 25% of the total size, for <see cref="ModelCaching.Budget.CostAwareEviction"/>, MemoryCache with a
/// SizeLimit, textbook LRU and Belady with hindsight. Prints hit ratio, byte hit ratio and the total time spent loading,
/// per seed, then the ratios over all seeds.
/// <c>dotnet run -c Release --project benchmarks/ModelCaching.Benchmarks -- --harness eviction-sim [seed ...]
/// [--requests 1000000] [--warm-up 200000] [--shift-every 0] [--drain-seconds 1] [--requests-per-second 0]
/// [--headroom-cap 0.25] [--modes 0,1,2]</c>; with <c>--drain-seconds</c>, it prints instead what a miss waits for when
/// evicted models drain (mode 0: on demand; 1: a background headroom of the largest model, the library before; 2: the
/// library's headroom, the largest model plus the last drain period's loads, capped at <c>--headroom-cap</c> of the budget).
/// </summary>
public sealed class EvictionSimulationHarness : IHarness
{
    private const int Models = 1_000;
    private static readonly double[] ZipfExponents = [0.8, 0.9, 1.0];
    private static readonly double[] BudgetFractions = [0.05, 0.10, 0.25];
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public string Name => "eviction-sim";

    public Task<int> RunAsync(string[] args)
    {
        var seeds = new List<int>();
        int requests = 1_000_000;
        int warmUp = 200_000;
        int shiftEvery = 0;
        double drainSeconds = 0;
        double headroomCap = MemoryBudget.HeadroomCap;
        int[] modes = [0, 1, 2];
        double requestsPerSecond = 0;
        string? tune = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--requests":
                    requests = int.Parse(args[++i], Invariant);
                    break;
                case "--warm-up":
                    warmUp = int.Parse(args[++i], Invariant);
                    break;
                case "--drain-seconds":
                    drainSeconds = double.Parse(args[++i], Invariant);
                    break;
                case "--headroom-cap":
                    headroomCap = double.Parse(args[++i], Invariant);
                    break;
                case "--modes":
                    modes = [.. args[++i].Split(',').Select(m => int.Parse(m, Invariant))];
                    break;
                case "--requests-per-second":
                    requestsPerSecond = double.Parse(args[++i], Invariant);
                    break;
                case "--tune":
                    tune = args[++i];
                    break;
                case "--shift-every":
                    shiftEvery = int.Parse(args[++i], Invariant);
                    break;
                default:
                    seeds.Add(int.Parse(args[i], Invariant));
                    break;
            }
        }

        if (seeds.Count == 0)
        {
            seeds.Add(1);
        }

        var total = Stopwatch.StartNew();
        if (tune is not null)
        {
            EvictionTuning.Run(seeds, warmUp, requests, shiftEvery, tune.Split(','));
            Console.WriteLine(string.Create(Invariant, $"Run time: {total.Elapsed.TotalSeconds:F0} s."));
            return Task.FromResult(0);
        }

        if (drainSeconds > 0)
        {
            RunDrainWaits(seeds, warmUp, requests, shiftEvery, drainSeconds, requestsPerSecond, headroomCap, modes);
            Console.WriteLine(string.Create(Invariant, $"Run time: {total.Elapsed.TotalSeconds:F0} s."));
            return Task.FromResult(0);
        }

        var summary = new List<(int Seed, double S, double Budget, long BudgetBytes, SimulationResult[] Results)>();
        foreach (int seed in seeds)
        {
            var notes = new List<string>();
            string shifts = shiftEvery > 0 ? $", the 100 hottest ranks move every {shiftEvery:N0} requests" : ", stationary popularity";
            Console.WriteLine($"### Seed {seed}: {Models:N0} models, {warmUp:N0} warm-up + {requests:N0} measured requests{shifts}");
            Console.WriteLine();
            Console.WriteLine("| s | budget | policy | hit ratio | byte hit ratio | load time (s) | × MemoryCache | × Belady | peak memory / budget | run (s) |");
            Console.WriteLine("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
            foreach (double s in ZipfExponents)
            {
                EvictionWorkload workload = EvictionWorkload.Create(seed, s, Models, warmUp, requests, shiftEvery);
                foreach (double fraction in BudgetFractions)
                {
                    long budget = (long)(workload.TotalBytes * fraction);
                    SimulationResult[] results =
                    [
                        Run("CostAwareEviction", new CostAwareSimulation(workload, budget, trim: false), workload, budget),
                        RunMemoryCache(workload, budget, notes),
                        Run("LRU (textbook)", new LruSimulation(workload, budget), workload, budget),
                        Run("Belady (hindsight)", new BeladySimulation(workload, budget), workload, budget),
                        Run("Static by F×C/S (hindsight)", new StaticOracleSimulation(workload, budget), workload, budget),
                        // Ours keeping room ahead of need (the background trim the budget runs once evictions drain).
                        Run("CostAwareEviction, with headroom", new CostAwareSimulation(workload, budget, trim: true), workload, budget),
                    ];
                    summary.Add((seed, s, fraction, budget, results));
                    foreach (SimulationResult r in results)
                    {
                        Console.WriteLine(string.Create(Invariant,
                            $"| {s:F1} | {fraction:P0} | {r.Policy} | {r.HitRatio:P1} | {r.ByteHitRatio:P1} | {r.LoadSeconds:N0} | {r.LoadSeconds / results[1].LoadSeconds:F2} | {r.LoadSeconds / results[3].LoadSeconds:F2} | {(double)r.PeakResidentBytes / budget:F2} | {r.Elapsed.TotalSeconds:F1} |"));
                    }
                }
            }

            Console.WriteLine();
            foreach (string note in notes)
            {
                Console.WriteLine("- MemoryCache, " + note);
            }

            Console.WriteLine();
        }

        Console.WriteLine($"### CostAwareEviction's total load time over {seeds.Count} seed(s) ({string.Join(", ", seeds)})");
        Console.WriteLine();
        Console.WriteLine("| s | budget | × textbook LRU (worst, mean) | × MemoryCache (worst, mean) | × Belady (worst, mean) | peak / budget (max) | with headroom: × textbook LRU (worst, mean) | with headroom: peak / budget (max) |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (double s in ZipfExponents)
        {
            foreach (double fraction in BudgetFractions)
            {
                var cells = summary.Where(c => c.S == s && c.Budget == fraction).ToArray();
                double[] toMemoryCache = [.. cells.Select(static c => c.Results[0].LoadSeconds / c.Results[1].LoadSeconds)];
                double[] toLru = [.. cells.Select(static c => c.Results[0].LoadSeconds / c.Results[2].LoadSeconds)];
                double[] toBelady = [.. cells.Select(static c => c.Results[0].LoadSeconds / c.Results[3].LoadSeconds)];
                double[] headroomToLru = [.. cells.Select(static c => c.Results[5].LoadSeconds / c.Results[2].LoadSeconds)];
                double peak = cells.Max(c => (double)c.Results[0].PeakResidentBytes / c.BudgetBytes);
                double headroomPeak = cells.Max(c => (double)c.Results[5].PeakResidentBytes / c.BudgetBytes);
                Console.WriteLine(string.Create(Invariant,
                    $"| {s:F1} | {fraction:P0} | {toLru.Max():F2}, {toLru.Average():F2} | {toMemoryCache.Max():F2}, {toMemoryCache.Average():F2} | {toBelady.Max():F2}, {toBelady.Average():F2} | {peak:F2} | {headroomToLru.Max():F2}, {headroomToLru.Average():F2} | {headroomPeak:F2} |"));
            }
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(Invariant, $"Run time: {total.Elapsed.TotalSeconds:F0} s."));
        return Task.FromResult(0);
    }

    // What a miss waits for when evicted models drain for `drainSeconds` (EvictionDrainDelay), on two load slots, loads back
    // to back or requests arriving at `requestsPerSecond`: evicting on demand (each miss waits for the memory it evicted),
    // the budget's background headroom, and the headroom plus the last drain period's loads.
    private static void RunDrainWaits(List<int> seeds, int warmUp, int requests, int shiftEvery, double drainSeconds, double requestsPerSecond, double headroomCap, int[] modes)
    {
        string arrivals = requestsPerSecond > 0 ? string.Create(Invariant, $"requests arriving at {requestsPerSecond:N0} per second") : "loads back to back";
        Console.WriteLine(string.Create(Invariant, $"### What a miss waits for: evicted models drain for {drainSeconds:F1} s, {arrivals} on 2 slots, headroom cap {headroomCap:F2} of the budget"));
        Console.WriteLine();
        Console.WriteLine("| seed | s | budget | eviction | misses that waited | wait per miss (ms) | load per miss (ms) | load time × LRU (no drain) | peak draining / budget | peak used / budget | misses per second |");
        Console.WriteLine("|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
        var cells = new List<(double S, double Budget, int Mode, double Waited, double WaitMs, double LoadMs, double ToLru, double PeakDraining, double PeakUsed, double MissRate)>();
        foreach (int seed in seeds)
        {
            foreach (double s in ZipfExponents)
            {
                EvictionWorkload workload = EvictionWorkload.Create(seed, s, Models, warmUp, requests, shiftEvery);
                foreach (double fraction in BudgetFractions)
                {
                    long budget = (long)(workload.TotalBytes * fraction);
                    SimulationResult lru = Run("LRU (textbook)", new LruSimulation(workload, budget), workload, budget);
                    foreach (int mode in modes)
                    {
                        bool trim = mode > 0;
                        var cache = new CostAwareSimulation(workload, budget, trim, drainSeconds, loadSlots: 2)
                        {
                            KeepRecentLoadsFree = mode == 2,
                            HeadroomCap = headroomCap,
                            RequestsPerSecond = requestsPerSecond,
                        };
                        double before = 0;
                        SimulationResult r = Run(ModeName(mode), cache, workload, budget, () => before = cache.Now);
                        long misses = r.Requests - r.Hits;
                        double seconds = Math.Max(cache.Now - before, requestsPerSecond > 0 ? requests / requestsPerSecond : 0);
                        cells.Add((s, fraction, mode, (double)cache.WaitedMisses / misses, cache.WaitSeconds / misses * 1000, r.LoadSeconds / misses * 1000,
                            r.LoadSeconds / lru.LoadSeconds, (double)cache.PeakDrainingBytes / budget, (double)r.PeakResidentBytes / budget, misses / seconds));
                        Console.WriteLine(string.Create(Invariant,
                            $"| {seed} | {s:F1} | {fraction:P0} | {r.Policy} | {(double)cache.WaitedMisses / misses:P1} | {cache.WaitSeconds / misses * 1000:F0} | {r.LoadSeconds / misses * 1000:F0} | {r.LoadSeconds / lru.LoadSeconds:F2} | {(double)cache.PeakDrainingBytes / budget:F2} | {(double)r.PeakResidentBytes / budget:F2} | {misses / seconds:F1} |"));
                    }
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine($"### Over {seeds.Count} seed(s) ({string.Join(", ", seeds)}): worst seed, and the mean where two are given");
        Console.WriteLine();
        Console.WriteLine("| s | budget | eviction | misses that waited | wait per miss (ms) | load per miss (ms) | load time × LRU (no drain) | peak draining / budget | peak used / budget | misses per second |");
        Console.WriteLine("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (double s in ZipfExponents)
        {
            foreach (double fraction in BudgetFractions)
            {
                foreach (int mode in modes)
                {
                    var c = cells.Where(x => x.S == s && x.Budget == fraction && x.Mode == mode).ToArray();
                    Console.WriteLine(string.Create(Invariant,
                        $"| {s:F1} | {fraction:P0} | {ModeName(mode)} | {c.Max(x => x.Waited):P1}, {c.Average(x => x.Waited):P1} | {c.Max(x => x.WaitMs):F0}, {c.Average(x => x.WaitMs):F0} | {c.Average(x => x.LoadMs):F0} | {c.Max(x => x.ToLru):F2}, {c.Average(x => x.ToLru):F2} | {c.Max(x => x.PeakDraining):F2} | {c.Max(x => x.PeakUsed):F2} | {c.Average(x => x.MissRate):F1} |"));
                }
            }
        }

        Console.WriteLine();
    }

    private static string ModeName(int mode) => mode switch
    {
        0 => "on demand",
        1 => "headroom: largest model (before)",
        _ => "headroom: largest model + last drain period's loads, capped (library)",
    };

    private static SimulationResult RunMemoryCache(EvictionWorkload workload, long budget, List<string> notes)
    {
        using var cache = new MemoryCacheSimulation(workload, budget);
        SimulationResult result = Run("MemoryCache (SizeLimit)", cache, workload, budget);
        notes.Add(string.Create(Invariant,
            $"s = {workload.ZipfS:F1}, budget {(double)budget / workload.TotalBytes:P0}: {cache.Compactions:N0} overcapacity compactions, {cache.CompactionsAboveLowWatermark} ended above the low watermark."));
        return result;
    }

    private static SimulationResult Run(string policy, SimulatedCache cache, EvictionWorkload workload, long budget, Action? measuring = null)
    {
        var elapsed = Stopwatch.StartNew();
        for (int i = 0; i < workload.WarmUp; i++)
        {
            cache.Access(i);
        }

        (cache as CostAwareSimulation)?.StartMeasuring();
        measuring?.Invoke();
        long hits = 0;
        double hitBytes = 0;
        double requestedBytes = 0;
        double loadSeconds = 0;
        long peak = 0;
        bool trackPeak = cache is not MemoryCacheSimulation;
        for (int i = workload.WarmUp; i < workload.Trace.Length; i++)
        {
            int model = workload.Trace[i];
            long size = workload.Sizes[model];
            requestedBytes += size;
            if (cache.Access(i))
            {
                hits++;
                hitBytes += size;
            }
            else
            {
                loadSeconds += workload.Costs[model];
            }

            if (trackPeak)
            {
                peak = Math.Max(peak, cache.ResidentBytes);
            }
        }

        // MemoryCache never holds more than its SizeLimit; reading its statistics per request would dominate the run.
        return new SimulationResult(policy, workload.Trace.Length - workload.WarmUp, hits, hitBytes, requestedBytes, loadSeconds,
            trackPeak ? peak : budget, elapsed.Elapsed);
    }
}
