using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Benchmarks.CacheHit;

namespace ModelCaching.Benchmarks.ManyModels;

/// <summary>
/// A provider set up as a many-models service is: 1,000 models made from a template (<c>tenant-0000</c> …) and
/// loaded, 1,000 more from a second template whose models do not count hits (<c>untracked-…</c>,
/// <c>TrackHits = false</c>), and 1,000 registered with <c>AddModel</c> (<c>product-…</c>); plus the baseline, a
/// <c>ConcurrentDictionary&lt;string, object&gt;</c> holding the 1,000 tenant names. Shared by
/// <see cref="LookupByNameBenchmarks"/> and <see cref="LookupThroughputHarness"/>.
/// </summary>
internal sealed class LookupFixture : IAsyncDisposable
{
    /// <summary>Models per kind; also the number of lookups in one pass over a names array.</summary>
    public const int Models = 1_000;

    /// <summary>The index of the hot name (<c>tenant-0042</c>) in creation order.</summary>
    public const int HotIndex = 42;

    private const string TenantPrefix = "tenant-";
    private const string UntrackedPrefix = "untracked-";
    private const string ProductPrefix = "product-";

    private readonly ServiceProvider _services;

    private LookupFixture(ServiceProvider services, IModelCacheProvider provider)
    {
        _services = services;
        Provider = provider;

        // GetCache<T> on IModelCacheProvider is a generic virtual method; a delegate bound to the provider's own
        // closed method calls the same code without that dispatch, to tell the two costs apart.
        MethodInfo method = provider.GetType().GetMethod(nameof(IModelCacheProvider.GetCache), 1, [typeof(string)])!.MakeGenericMethod(typeof(HitModel));
        DirectGetCache = method.CreateDelegate<Func<string, IModelCache<HitModel>>>(provider);
    }

    public IModelCacheProvider Provider { get; }

    /// <summary>The provider's <c>GetCache&lt;HitModel&gt;</c>, bound to the concrete provider (no generic virtual dispatch).</summary>
    public Func<string, IModelCache<HitModel>> DirectGetCache { get; }

    /// <summary>The baseline: the 1,000 tenant names, each with its model.</summary>
    public ConcurrentDictionary<string, object> Dictionary { get; } = new(StringComparer.Ordinal);

    /// <summary>The tenant names in a fixed shuffled order; the same instances the dictionaries were filled with.</summary>
    public string[] TenantNames { get; private set; } = [];

    public string[] UntrackedNames { get; private set; } = [];

    public string[] ProductNames { get; private set; } = [];

    public static async Task<LookupFixture> CreateAsync()
    {
        var services = new ServiceCollection();
        IModelCacheBuilder builder = services.AddModelCache()
            .AddModelTemplate<HitModel>(
                "tenants",
                static t => t.FromFactory(static (name, _) => ValueTask.FromResult(new HitModel(name)), "tenant factory"),
                static o =>
                {
                    o.NamePrefix = TenantPrefix;

                    // A budget far above what the models use: set up as a many-models service is, and nothing is
                    // evicted while measuring.
                    o.MemoryBudgetBytes = 1L << 40;
                })
            .AddModelTemplate<HitModel>(
                "untracked",
                static t => t.FromFactory(static (name, _) => ValueTask.FromResult(new HitModel(name)), "untracked factory")
                    .Configure(static o => o.TrackHits = false),
                static o =>
                {
                    o.NamePrefix = UntrackedPrefix;
                    o.MemoryBudgetBytes = 1L << 40;
                });
        for (int i = 0; i < Models; i++)
        {
            builder.AddModel<HitModel>(Name(ProductPrefix, i), HitModel.FromMemory);
        }

        ServiceProvider provider = services.BuildServiceProvider();
        var fixture = new LookupFixture(provider, provider.GetRequiredService<IModelCacheProvider>());

        // Names made once, in a fixed shuffled order: a request carries a name string already made, and the provider
        // keeps the instance of the first call as its key, as it would keep the first request's.
        var random = new Random(11);
        fixture.TenantNames = Shuffled(TenantPrefix, random);
        fixture.UntrackedNames = Shuffled(UntrackedPrefix, random);
        fixture.ProductNames = Shuffled(ProductPrefix, random);
        foreach (string name in fixture.TenantNames)
        {
            HitModel model = await fixture.Provider.GetCache<HitModel>(name).GetModelAsync();
            Require(model.Version == name, $"template model {name}");
            fixture.Dictionary[name] = model;
        }

        foreach (string name in fixture.UntrackedNames.Concat(fixture.ProductNames))
        {
            await fixture.Provider.GetCache<HitModel>(name).GetModelAsync();
        }

        Require(fixture.Provider.Names.Count == 3 * Models, "the provider holds 3,000 models");
        return fixture;
    }

    /// <summary>
    /// The hot name's instance (the one the dictionaries hold) repeated 1,000 times: one hot tenant whose requests
    /// each carry an equal name.
    /// </summary>
    public static string[] Hot(string[] names)
    {
        string hot = names.Single(n => n.EndsWith(HotIndex.ToString("0000", CultureInfo.InvariantCulture), StringComparison.Ordinal));
        return [.. Enumerable.Repeat(hot, Models)];
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    private static string Name(string prefix, int index) => prefix + index.ToString("0000", CultureInfo.InvariantCulture);

    private static string[] Shuffled(string prefix, Random random)
    {
        string[] names = new string[Models];
        for (int i = 0; i < Models; i++)
        {
            names[i] = Name(prefix, i);
        }

        random.Shuffle(names);
        return names;
    }

    private static void Require(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"Set-up check failed: {what}.");
        }
    }
}
