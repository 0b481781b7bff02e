using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Benchmarks.CacheHit;

namespace ModelCaching.Benchmarks.ManyModels;

/// <summary>
/// <c>--harness known-name-cost [names]</c>: what a known template name costs in memory. Makes a provider with one
/// template (a factory, as <see cref="LookupFixture"/>), then makes 1,000 names (by default) known: each is looked up,
/// loaded and hit once from this thread. Reports the bytes still held per name after a full collection (the provider's
/// memory with the names, less without them) and the bytes allocated on this thread per name while making them.
/// </summary>
public sealed class KnownNameCostHarness : IHarness
{
    /// <inheritdoc />
    public string Name => "known-name-cost";

    /// <inheritdoc />
    public async Task<int> RunAsync(string[] args)
    {
        int names = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000;
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

        long retainedBefore = GC.GetTotalMemory(forceFullCollection: true);
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        foreach (string name in made)
        {
            await MakeKnownAsync(caches, name);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        long retained = GC.GetTotalMemory(forceFullCollection: true) - retainedBefore;
        GC.KeepAlive(made);

        Console.WriteLine($"known-name-cost: {names:N0} template names, each loaded and hit once, {Environment.ProcessorCount} cores, {DateTime.UtcNow:u}");
        Console.WriteLine();
        Console.WriteLine("| measure | bytes per name |");
        Console.WriteLine("|---|---:|");
        Console.WriteLine($"| held after a full collection (`GC.GetTotalMemory(true)` difference) | {retained / names:N0} |");
        Console.WriteLine($"| allocated on the calling thread while making it known (`GC.GetAllocatedBytesForCurrentThread`) | {allocated / names:N0} |");
        return 0;
    }

    private static async Task MakeKnownAsync(IModelCacheProvider caches, string name)
    {
        IModelCache<HitModel> cache = caches.GetCache<HitModel>(name);
        await cache.GetModelAsync();
        _ = cache.GetModel();
    }
}
