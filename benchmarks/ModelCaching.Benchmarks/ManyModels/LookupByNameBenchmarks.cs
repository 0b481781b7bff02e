using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Benchmarks.CacheHit;

namespace ModelCaching.Benchmarks.ManyModels;

/// <summary>
/// Finding a loaded model by name (issue 11): <c>IModelCacheProvider.GetCache&lt;TModel&gt;(name).GetModel()</c> for a
/// model made from a template, with 1,000 made and loaded, against <c>ConcurrentDictionary&lt;string, object&gt;.TryGetValue</c>
/// on the same 1,000 names. Budget: at most 25 ns and 0 B per lookup. Also a registered (<c>AddModel</c>) name, the
/// untyped <c>GetCache(name)</c>, and template models with <c>TrackHits = false</c> (no hit counter to touch).
/// </summary>
/// <remarks>
/// Each invocation makes 1,000 lookups with names from a pre-built array (a request carries a name string already
/// made; building one per call would measure string formatting). <see cref="Access"/> says which names:
/// <c>one name</c> looks up <c>tenant-0042</c> 1,000 times (one hot tenant: what the lookup itself costs), and
/// <c>1,000 names</c> looks up every name once in a fixed shuffled order (every call a different model, as requests
/// for many tenants come: what touching 1,000 models' memory costs). Times are per lookup. Not sealed:
/// BenchmarkDotNet derives from benchmark classes.
/// </remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 5, iterationCount: 15)]
public class LookupByNameBenchmarks
{
    /// <summary>Template models made and loaded; also the number of registered models and of lookups per invocation.</summary>
    public const int Models = 1_000;

    private const string TenantPrefix = "tenant-";
    private const string UntrackedPrefix = "untracked-";
    private const string ProductPrefix = "product-";

    private ServiceProvider _services = null!;
    private IModelCacheProvider _provider = null!;
    private ConcurrentDictionary<string, object> _dictionary = null!;
    private string[] _tenantNames = null!;
    private string[] _untrackedNames = null!;
    private string[] _productNames = null!;

    /// <summary>Which names the 1,000 lookups of an invocation use: one hot name, or every name once.</summary>
    [Params("one name", "1,000 names")]
    public string Access { get; set; } = "one name";

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var services = new ServiceCollection();
        IModelCacheBuilder builder = services.AddModelCache()
            .AddModelTemplate<HitModel>(
                "tenants",
                static t => t.FromFactory(static (name, _) => ValueTask.FromResult(new HitModel(name)), "tenant factory"),
                static o =>
                {
                    o.NamePrefix = TenantPrefix;

                    // A budget far above what the models use: the provider is set up as a many-models service is, and
                    // nothing is evicted while measuring.
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
            builder.AddModel<HitModel>(ProductPrefix + i.ToString("0000", System.Globalization.CultureInfo.InvariantCulture), HitModel.FromMemory);
        }

        _services = services.BuildServiceProvider();
        _provider = _services.GetRequiredService<IModelCacheProvider>();

        // Names in a fixed shuffled order, made once (the provider keeps its own copies as keys; the lookups use these).
        var random = new Random(11);
        _tenantNames = Shuffled(TenantPrefix, random);
        _untrackedNames = Shuffled(UntrackedPrefix, random);
        _productNames = Shuffled(ProductPrefix, random);
        _dictionary = new ConcurrentDictionary<string, object>(StringComparer.Ordinal);
        foreach (string name in _tenantNames)
        {
            HitModel model = await _provider.GetCache<HitModel>(name).GetModelAsync();
            Require(model.Version == name, $"template model {name}");
            _dictionary[name] = model;
        }

        foreach (string name in _untrackedNames.Concat(_productNames))
        {
            await _provider.GetCache<HitModel>(name).GetModelAsync();
        }

        Require(_provider.Names.Count == 3 * Models, "provider names");
        if (Access == "one name")
        {
            // The same string instance 1,000 times, as a hot tenant's requests would each carry an equal name.
            _tenantNames = Repeated(_tenantNames, TenantPrefix + "0042");
            _untrackedNames = Repeated(_untrackedNames, UntrackedPrefix + "0042");
            _productNames = Repeated(_productNames, ProductPrefix + "0042");
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync() => await _services.DisposeAsync();

    [Benchmark(Baseline = true, OperationsPerInvoke = Models, Description = "ConcurrentDictionary<string, object>.TryGetValue")]
    public object? DictionaryTryGetValue()
    {
        ConcurrentDictionary<string, object> dictionary = _dictionary;
        object? found = null;
        foreach (string name in _tenantNames)
        {
            dictionary.TryGetValue(name, out found);
        }

        return found;
    }

    [Benchmark(OperationsPerInvoke = Models, Description = "template model: GetCache<T>(name)")]
    public IModelCache<HitModel> TemplateGetCache()
    {
        IModelCacheProvider provider = _provider;
        IModelCache<HitModel> cache = null!;
        foreach (string name in _tenantNames)
        {
            cache = provider.GetCache<HitModel>(name);
        }

        return cache;
    }

    [Benchmark(OperationsPerInvoke = Models, Description = "template model: GetCache<T>(name).GetModel()")]
    public HitModel TemplateGetCacheGetModel()
    {
        IModelCacheProvider provider = _provider;
        HitModel model = null!;
        foreach (string name in _tenantNames)
        {
            model = provider.GetCache<HitModel>(name).GetModel();
        }

        return model;
    }

    [Benchmark(OperationsPerInvoke = Models, Description = "registered model: GetCache<T>(name).GetModel()")]
    public HitModel RegisteredGetCacheGetModel()
    {
        IModelCacheProvider provider = _provider;
        HitModel model = null!;
        foreach (string name in _productNames)
        {
            model = provider.GetCache<HitModel>(name).GetModel();
        }

        return model;
    }

    [Benchmark(OperationsPerInvoke = Models, Description = "template model, TrackHits = false: GetCache<T>(name).GetModel()")]
    public HitModel UntrackedGetCacheGetModel()
    {
        IModelCacheProvider provider = _provider;
        HitModel model = null!;
        foreach (string name in _untrackedNames)
        {
            model = provider.GetCache<HitModel>(name).GetModel();
        }

        return model;
    }

    [Benchmark(OperationsPerInvoke = Models, Description = "template model: untyped GetCache(name)")]
    public IModelCache TemplateGetCacheUntyped()
    {
        IModelCacheProvider provider = _provider;
        IModelCache cache = null!;
        foreach (string name in _tenantNames)
        {
            cache = provider.GetCache(name);
        }

        return cache;
    }

    private static string[] Shuffled(string prefix, Random random)
    {
        string[] names = new string[Models];
        for (int i = 0; i < Models; i++)
        {
            names[i] = prefix + i.ToString("0000", System.Globalization.CultureInfo.InvariantCulture);
        }

        random.Shuffle(names);
        return names;
    }

    // The array's own instance of the name (the one the dictionaries were filled with), repeated.
    private static string[] Repeated(string[] names, string name)
    {
        string instance = names.Single(n => n == name);
        return [.. Enumerable.Repeat(instance, Models)];
    }

    private static void Require(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"Set-up check failed: {what}.");
        }
    }
}
