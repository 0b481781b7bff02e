using System.Collections.Concurrent;
using System.Globalization;
using ModelCaching.Benchmarks.CacheHit;

namespace ModelCaching.Benchmarks.ManyModels;

/// <summary>
/// <c>--harness lookup-throughput [seconds per measurement] [rounds]</c>: the ways of <see cref="LookupByNameBenchmarks"/>
/// (lookup by name among 1,000 template models, against <c>ConcurrentDictionary.TryGetValue</c>) measured as lookups
/// per CPU second of one thread over whole seconds, because BenchmarkDotNet's short iterations of a 15–50 ns call are
/// within this shared machine's noise. Ways are interleaved round by round and their order rotates, so a burst of
/// load from other processes hits them alike; each round's time is also a ratio of the dictionary in the same round.
/// </summary>
public sealed class LookupThroughputHarness : IHarness
{
    /// <inheritdoc />
    public string Name => "lookup-throughput";

    /// <inheritdoc />
    public async Task<int> RunAsync(string[] args)
    {
        double seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 1;
        int rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        await using LookupFixture fixture = await LookupFixture.CreateAsync();
        IModelCacheProvider provider = fixture.Provider;
        Func<string, IModelCache<HitModel>> direct = fixture.DirectGetCache;
        ConcurrentDictionary<string, object> dictionary = fixture.Dictionary;

        Console.WriteLine($"lookup-throughput: {provider.Names.Count:N0} models in the provider, 1 thread, {seconds:0.##} s per measurement, {rounds} rounds, {DateTime.UtcNow:u}");
        foreach ((string access, bool hot) in new[] { ("one name (tenant-0042 every call)", true), ("1,000 names (each once per pass, shuffled)", false) })
        {
            string[] tenants = hot ? LookupFixture.Hot(fixture.TenantNames) : fixture.TenantNames;
            string[] untracked = hot ? LookupFixture.Hot(fixture.UntrackedNames) : fixture.UntrackedNames;
            string[] products = hot ? LookupFixture.Hot(fixture.ProductNames) : fixture.ProductNames;
            (string Name, Func<int, long> Loop)[] ways =
            [
                ("`ConcurrentDictionary<string, object>.TryGetValue` (baseline)", _ => Dictionary(dictionary, tenants)),
                ("template model: `GetCache<T>(name)`", _ => Typed(provider, tenants)),
                ("template model: `GetCache<T>(name).GetModel()`", _ => TypedGetModel(provider, tenants)),
                ("registered model: `GetCache<T>(name).GetModel()`", _ => TypedGetModel(provider, products)),
                ("template model, `TrackHits = false`: `GetCache<T>(name).GetModel()`", _ => TypedGetModel(provider, untracked)),
                ("template model: untyped `GetCache(name)`", _ => Untyped(provider, tenants)),
                ("template model: `GetCache<T>(name)`, no generic virtual dispatch", _ => Direct(direct, tenants)),
            ];

            // Warm-up (JIT, tiering), not reported.
            foreach ((string _, Func<int, long> loop) in ways)
            {
                ThreadThroughput.Measure(1, loop, Math.Min(seconds, 0.5));
            }

            double[][] perWay = [.. ways.Select(_ => new double[rounds])];
            for (int round = 0; round < rounds; round++)
            {
                for (int k = 0; k < ways.Length; k++)
                {
                    int w = (k + round) % ways.Length;
                    perWay[w][round] = ThreadThroughput.Measure(1, ways[w].Loop, seconds);
                }
            }

            Console.WriteLine();
            Console.WriteLine($"Access: {access}");
            Console.WriteLine();
            Console.WriteLine("| way | median ns per lookup (min..max of rounds) | median ratio of the dictionary in the same round |");
            Console.WriteLine("|---|---:|---:|");
            for (int w = 0; w < ways.Length; w++)
            {
                double[] ns = [.. perWay[w].Select(static ops => 1e9 / ops).Order()];
                double[] ratios = [.. perWay[w].Select((ops, r) => perWay[0][r] / ops).Order()];
                Console.WriteLine($"| {ways[w].Name} | {ns[rounds / 2]:0.0} ({ns[0]:0.0}..{ns[^1]:0.0}) | {ratios[rounds / 2]:0.00}× |");
            }
        }

        return 0;
    }

    private static long Dictionary(ConcurrentDictionary<string, object> dictionary, string[] names)
    {
        long calls = 0;
        object? found = null;
        while (!ThreadThroughput.Stopping)
        {
            foreach (string name in names)
            {
                dictionary.TryGetValue(name, out found);
            }

            calls += names.Length;
        }

        GC.KeepAlive(found);
        return calls;
    }

    private static long Typed(IModelCacheProvider provider, string[] names)
    {
        long calls = 0;
        IModelCache<HitModel>? cache = null;
        while (!ThreadThroughput.Stopping)
        {
            foreach (string name in names)
            {
                cache = provider.GetCache<HitModel>(name);
            }

            calls += names.Length;
        }

        GC.KeepAlive(cache);
        return calls;
    }

    private static long TypedGetModel(IModelCacheProvider provider, string[] names)
    {
        long calls = 0;
        HitModel? model = null;
        while (!ThreadThroughput.Stopping)
        {
            foreach (string name in names)
            {
                model = provider.GetCache<HitModel>(name).GetModel();
            }

            calls += names.Length;
        }

        GC.KeepAlive(model);
        return calls;
    }

    private static long Untyped(IModelCacheProvider provider, string[] names)
    {
        long calls = 0;
        IModelCache? cache = null;
        while (!ThreadThroughput.Stopping)
        {
            foreach (string name in names)
            {
                cache = provider.GetCache(name);
            }

            calls += names.Length;
        }

        GC.KeepAlive(cache);
        return calls;
    }

    private static long Direct(Func<string, IModelCache<HitModel>> getCache, string[] names)
    {
        long calls = 0;
        IModelCache<HitModel>? cache = null;
        while (!ThreadThroughput.Stopping)
        {
            foreach (string name in names)
            {
                cache = getCache(name);
            }

            calls += names.Length;
        }

        GC.KeepAlive(cache);
        return calls;
    }
}
