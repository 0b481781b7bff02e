using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Benchmarks.CacheHit;

namespace ModelCaching.Benchmarks.ManyModels;

/// <summary>
/// <c>--harness known-name-cost [names] [--threads 1,2,8,32]</c>: what a known template name costs in memory. Makes a
/// provider with one template (a factory, as <see cref="LookupFixture"/>), then makes 1,000 names (by default) known:
/// each is looked up, loaded and hit once. Reports the bytes still held per name after a full collection (the
/// provider's memory with the names, less without them) and the bytes allocated on this thread per name while making
/// them. Then threads that had not hit any model hit every name once, in steps up to each count of <c>--threads</c>
/// (1, 2, 8 and 32 by default), and the bytes held per name are reported again: what the per-thread hit counts of
/// every thread that hits a model add (a busy server's thread pool on N cores has at least N such threads).
/// </summary>
public sealed class KnownNameCostHarness : IHarness
{
    /// <inheritdoc />
    public string Name => "known-name-cost";

    /// <inheritdoc />
    public async Task<int> RunAsync(string[] args)
    {
        int names = 1_000;
        int[] threadSteps = [1, 2, 8, 32];
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--threads" && i + 1 < args.Length)
            {
                threadSteps = [.. args[++i].Split(',').Select(static t => int.Parse(t, CultureInfo.InvariantCulture)).Order()];
            }
            else
            {
                names = int.Parse(args[i], CultureInfo.InvariantCulture);
            }
        }

        var services = new ServiceCollection();
        services.AddModelCache().AddModelTemplate<HitModel>(
            "tenants",
            static t => t.FromFactory(static (name, _) => ValueTask.FromResult(new HitModel(name)), "tenant factory"),
            static o =>
            {
                o.NamePrefix = "tenant-";
                o.MemoryBudgetBytes = 1L << 40;
            });
        await using ServiceProvider provider = services.BuildServiceProvider();
        IModelCacheProvider caches = provider.GetRequiredService<IModelCacheProvider>();

        // Warm-up: the first name pays for the template, the JIT and the process-wide tables, and is not counted.
        await MakeKnownAsync(caches, "tenant-warm");
        string[] made = [.. Enumerable.Range(0, names).Select(i => "tenant-" + i.ToString("00000", CultureInfo.InvariantCulture))];
        var known = new IModelCache<HitModel>[names];

        long retainedBefore = GC.GetTotalMemory(forceFullCollection: true);
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < names; i++)
        {
            known[i] = await MakeKnownAsync(caches, made[i]);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        long retained = GC.GetTotalMemory(forceFullCollection: true) - retainedBefore;

        Console.WriteLine($"known-name-cost: {names:N0} template names, each loaded and hit once, {Environment.ProcessorCount} cores, {DateTime.UtcNow:u}");
        Console.WriteLine();
        Console.WriteLine("| measure | bytes per name |");
        Console.WriteLine("|---|---:|");
        Console.WriteLine($"| held after a full collection (`GC.GetTotalMemory(true)` difference) | {retained / names:N0} |");
        Console.WriteLine($"| allocated on the calling thread while making it known (`GC.GetAllocatedBytesForCurrentThread`) | {allocated / names:N0} |");

        Console.WriteLine();
        Console.WriteLine("| threads that hit every name once, besides the ones that made them known | held per name | of which the extra threads' hit counts |");
        Console.WriteLine("|---:|---:|---:|");
        Console.WriteLine($"| 0 | {retained / names:N0} | 0 |");
        // The threads stay alive until the end: a thread that ended leaves its stack (and so its row of hit counts) to the
        // next thread made, which would count in the same row.
        using var end = new ManualResetEventSlim();
        var alive = new List<Thread>();
        foreach (int step in threadSteps)
        {
            using var hit = new CountdownEvent(step - alive.Count);
            while (alive.Count < step)
            {
                var thread = new Thread(() =>
                {
                    HitEach(known);
                    hit.Signal();
                    end.Wait();
                });
                thread.Start();
                alive.Add(thread);
            }

            hit.Wait();
            long held = GC.GetTotalMemory(forceFullCollection: true) - retainedBefore;
            Console.WriteLine($"| {step} | {held / names:N0} | {(held - retained) / names:N0} |");
        }

        end.Set();
        foreach (Thread thread in alive)
        {
            thread.Join();
        }

        GC.KeepAlive(made);
        GC.KeepAlive(known);
        return 0;
    }

    private static void HitEach(IModelCache<HitModel>[] known)
    {
        foreach (IModelCache<HitModel> cache in known)
        {
            _ = cache.GetModel();
        }
    }

    private static async Task<IModelCache<HitModel>> MakeKnownAsync(IModelCacheProvider caches, string name)
    {
        IModelCache<HitModel> cache = caches.GetCache<HitModel>(name);
        await cache.GetModelAsync();
        _ = cache.GetModel();
        return cache;
    }
}
