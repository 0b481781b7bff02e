using System.Globalization;
using ModelCaching.Budget;

namespace ModelCaching.Benchmarks.Eviction;

/// <summary>
/// <c>--tune v1,v2,…</c>: the named policy variants against textbook LRU on every seed, s and budget, worst and mean
/// ratio per budget; what chose the policy's settings (docs/benchmarks.md, "The budget as a cap").
/// </summary>
internal static class EvictionTuning
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    // Before issue 17's tuning: one overdraft model, the newcomer compared with the models evicted for it, and only when it
    // did not fit.
    private static void Earlier(CostAwareEviction p)
    {
        p.KeepProbation = false;
        p.AdmitAgainstMain = false;
    }

    private static readonly Dictionary<string, Func<EvictionWorkload, long, CostAwareSimulation>> Variants = new()
    {
        ["earlier"] = (w, b) => new CostAwareSimulation(w, b, trim: false, admitAlways: false, configure: Earlier),
        ["earlier-headroom"] = (w, b) => new CostAwareSimulation(w, b, trim: true, admitAlways: false, configure: Earlier),
        ["probation"] = (w, b) => new CostAwareSimulation(w, b, trim: false, admitAlways: false, configure: p => p.AdmitAgainstMain = false),
        ["probation-main"] = (w, b) => new CostAwareSimulation(w, b, trim: false, admitAlways: false),
        ["main-always"] = (w, b) => new CostAwareSimulation(w, b, trim: false, configure: p => p.KeepProbation = false),
        ["kept"] = (w, b) => new CostAwareSimulation(w, b, trim: false),
        ["kept-headroom"] = (w, b) => new CostAwareSimulation(w, b, trim: true),
        ["kept-headroom-spare"] = (w, b) => new CostAwareSimulation(w, b, trim: true) { SpareNewcomer = true },
        ["kept-promote"] = (w, b) => new CostAwareSimulation(w, b, trim: false, configure: p => p.PromoteOnHit = true),
        ["kept-age3"] = (w, b) => new CostAwareSimulation(w, b, trim: false, configure: p => { p.AgingSamples = 3; p.FrequencyCap = 48; }),
        ["kept-age10"] = (w, b) => new CostAwareSimulation(w, b, trim: false, configure: p => { p.AgingSamples = 10; p.FrequencyCap = 160; }),
        ["kept-cap32"] = (w, b) => new CostAwareSimulation(w, b, trim: false, configure: p => p.FrequencyCap = 32 * CostAwareEviction.AgingSamplesPerEntry),
    };

    public static void Run(List<int> seeds, int warmUp, int requests, int shiftEvery, string[] names)
    {
        double[] exponents = [0.8, 0.9, 1.0];
        double[] fractions = [0.05, 0.10, 0.25];
        var ratios = new Dictionary<(string, double), List<double>>();
        foreach (int seed in seeds)
        {
            foreach (double s in exponents)
            {
                EvictionWorkload workload = EvictionWorkload.Create(seed, s, 1_000, warmUp, requests, shiftEvery);
                foreach (double fraction in fractions)
                {
                    long budget = (long)(workload.TotalBytes * fraction);
                    double lru = Measure(new LruSimulation(workload, budget), workload, budget, out _);
                    var line = new List<string>();
                    foreach (string name in names)
                    {
                        double load = Measure(Variants[name](workload, budget), workload, budget, out double peak);
                        double ratio = load / lru;
                        if (!ratios.TryGetValue((name, fraction), out List<double>? list))
                        {
                            ratios[(name, fraction)] = list = [];
                        }

                        list.Add(ratio);
                        line.Add(string.Create(Invariant, $"{name} {ratio:F3} (peak {peak:F2})"));
                    }

                    Console.WriteLine(string.Create(Invariant, $"seed {seed} s {s:F1} budget {fraction:P0}: {string.Join("; ", line)}"));
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine("| variant | 5% (worst, mean) | 10% | 25% |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (string name in names)
        {
            var cells = fractions.Select(f => ratios[(name, f)]).Select(l => string.Create(Invariant, $"{l.Max():F3}, {l.Average():F3}"));
            Console.WriteLine($"| {name} | {string.Join(" | ", cells)} |");
        }
    }

    private static double Measure(SimulatedCache cache, EvictionWorkload workload, long budget, out double peak)
    {
        for (int i = 0; i < workload.WarmUp; i++)
        {
            cache.Access(i);
        }

        double load = 0;
        long most = 0;
        for (int i = workload.WarmUp; i < workload.Trace.Length; i++)
        {
            if (!cache.Access(i))
            {
                load += workload.Costs[workload.Trace[i]];
            }

            most = Math.Max(most, cache.ResidentBytes);
        }

        peak = (double)most / budget;
        return load;
    }
}
