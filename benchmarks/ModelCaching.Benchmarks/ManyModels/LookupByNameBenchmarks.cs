using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using ModelCaching.Benchmarks.CacheHit;

namespace ModelCaching.Benchmarks.ManyModels;

/// <summary>
/// Finding a loaded model by name (issue 11): <c>IModelCacheProvider.GetCache&lt;TModel&gt;(name).GetModel()</c> for a
/// model made from a template, with 1,000 made and loaded, against <c>ConcurrentDictionary&lt;string, object&gt;.TryGetValue</c>
/// on the same 1,000 names. Budget: at most 25 ns and 0 B per lookup. Also a registered (<c>AddModel</c>) name, the
/// untyped <c>GetCache(name)</c>, template models with <c>TrackHits = false</c> (no hit counter to touch), and
/// <c>GetCache&lt;T&gt;</c> called without the generic virtual dispatch of the interface (see <see cref="LookupFixture"/>).
/// </summary>
/// <remarks>
/// Each invocation makes 1,000 lookups with names from a pre-built array (a request carries a name string already
/// made; building one per call would measure string formatting). <see cref="Access"/> says which names:
/// <c>one name</c> looks up <c>tenant-0042</c> 1,000 times (one hot tenant: what the lookup itself costs), and
/// <c>1,000 names</c> looks up every name once in a fixed shuffled order (every call a different model, as requests
/// for many tenants come: what touching 1,000 models' memory costs). Times are per lookup. The same ways measured
/// over seconds: <see cref="LookupThroughputHarness"/>. Not sealed: BenchmarkDotNet derives from benchmark classes.
/// </remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 5, iterationCount: 15)]
public class LookupByNameBenchmarks
{
    private const int Lookups = LookupFixture.Models;

    private LookupFixture _fixture = null!;
    private IModelCacheProvider _provider = null!;
    private Func<string, IModelCache<HitModel>> _direct = null!;
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
        _fixture = await LookupFixture.CreateAsync();
        _provider = _fixture.Provider;
        _direct = _fixture.DirectGetCache;
        _dictionary = _fixture.Dictionary;
        bool hot = Access == "one name";
        _tenantNames = hot ? LookupFixture.Hot(_fixture.TenantNames) : _fixture.TenantNames;
        _untrackedNames = hot ? LookupFixture.Hot(_fixture.UntrackedNames) : _fixture.UntrackedNames;
        _productNames = hot ? LookupFixture.Hot(_fixture.ProductNames) : _fixture.ProductNames;
    }

    [GlobalCleanup]
    public async Task CleanupAsync() => await _fixture.DisposeAsync();

    [Benchmark(Baseline = true, OperationsPerInvoke = Lookups, Description = "ConcurrentDictionary<string, object>.TryGetValue")]
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

    [Benchmark(OperationsPerInvoke = Lookups, Description = "template model: GetCache<T>(name)")]
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

    [Benchmark(OperationsPerInvoke = Lookups, Description = "template model: GetCache<T>(name).GetModel()")]
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

    [Benchmark(OperationsPerInvoke = Lookups, Description = "registered model: GetCache<T>(name).GetModel()")]
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

    [Benchmark(OperationsPerInvoke = Lookups, Description = "template model, TrackHits = false: GetCache<T>(name).GetModel()")]
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

    [Benchmark(OperationsPerInvoke = Lookups, Description = "template model: untyped GetCache(name)")]
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

    [Benchmark(OperationsPerInvoke = Lookups, Description = "template model: GetCache<T>(name), no generic virtual dispatch")]
    public IModelCache<HitModel> TemplateGetCacheDirect()
    {
        Func<string, IModelCache<HitModel>> direct = _direct;
        IModelCache<HitModel> cache = null!;
        foreach (string name in _tenantNames)
        {
            cache = direct(name);
        }

        return cache;
    }
}
