using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.ML;

namespace ModelCaching.Benchmarks.Policies;

/// <summary>
/// What choosing a policy means on a real model (TestModels/taxi-fare.zip, loaded with <c>MLContext.Model.Load</c>
/// through a plain delegate loader), one table per question:
/// <list type="bullet">
/// <item><b>start-up</b>: what host start costs under each policy (eager loads here);</item>
/// <item><b>first request</b>: the first <c>GetModel()</c> after start (lazy and expiring load here, eager does not),
/// and the first one after an idle unload, against loading the model directly;</item>
/// <item><b>steady hit</b>: <c>GetModel()</c> once loaded, against <see cref="Lazy{T}.Value"/> holding the same model;</item>
/// <item><b>hit during refresh-ahead</b>: <c>GetModel()</c> while refresh-ahead reloads run back to back in the background.</item>
/// </list>
/// Memory held after an idle period and per-call latency percentiles during reloads are not something
/// BenchmarkDotNet measures: see <see cref="PolicyMemoryHarness"/> and <see cref="RefreshAheadLatencyHarness"/>.
/// </summary>
/// <remarks>
/// Start-up and first-request benchmarks build a new host in <c>[IterationSetup]</c>, which makes BenchmarkDotNet run
/// them once per iteration (InvocationCount = 1): right for millisecond loads, and the reason a first request that is
/// a hit shows a few hundred nanoseconds of timer overhead rather than its real nanoseconds. Not sealed:
/// BenchmarkDotNet derives from benchmark classes.
/// </remarks>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 15)]
public class PolicyComparisonBenchmarks
{
    private const string StartUp = "start-up";
    private const string FirstRequest = "first request";
    private const string SteadyHit = "steady hit";
    private const string DuringRefresh = "hit during refresh-ahead";

    /// <summary>The idle timeout of the "after idle unload" benchmark: short, so each iteration's setup waits little.</summary>
    private static readonly TimeSpan ShortIdleTimeout = TimeSpan.FromMilliseconds(200);

    /// <summary>The time-to-live that keeps refresh-ahead reloads running back to back (a load takes a few ms).</summary>
    private static readonly TimeSpan ShortTimeToLive = TimeSpan.FromMilliseconds(40);

    private readonly MLContext _mlContext = new(seed: 0);
    private PolicyHost<ITransformer>? _host;
    private IModelCache<ITransformer> _cache = null!;
    private Lazy<ITransformer> _lazy = null!;
    private PolicyHost<ITransformer> _lazyHost = null!;
    private PolicyHost<ITransformer> _eagerHost = null!;
    private PolicyHost<ITransformer> _expiringHost = null!;
    private IModelCache<ITransformer> _lazyCache = null!;
    private IModelCache<ITransformer> _eagerCache = null!;
    private IModelCache<ITransformer> _expiringCache = null!;
    private ReloadProbe _probe = null!;
    private long _loadsAtStart;
    private string _label = "";

    // ---- start-up: a new, not yet started host per iteration -------------------------------------------------

    [IterationSetup(Target = nameof(StartLazy))]
    public void CreateLazyHost() => CreateHost(CachePolicy.Lazy);

    [IterationSetup(Target = nameof(StartEager))]
    public void CreateEagerHost() => CreateHost(CachePolicy.Eager);

    [IterationSetup(Target = nameof(StartExpiring))]
    public void CreateExpiringHost() => CreateHost(CachePolicy.Expiring);

    [Benchmark(Baseline = true, Description = "lazy: host start")]
    [BenchmarkCategory(StartUp)]
    public Task StartLazy() => _host!.StartAsync();

    [Benchmark(Description = "eager: host start (loads)")]
    [BenchmarkCategory(StartUp)]
    public Task StartEager() => _host!.StartAsync();

    [Benchmark(Description = "expiring: host start")]
    [BenchmarkCategory(StartUp)]
    public Task StartExpiring() => _host!.StartAsync();

    // ---- first request: a started host per iteration ---------------------------------------------------------

    [IterationSetup(Target = nameof(FirstLazy))]
    public void StartLazyHost() => StartHost(CachePolicy.Lazy);

    [IterationSetup(Target = nameof(FirstEager))]
    public void StartEagerHost() => StartHost(CachePolicy.Eager);

    [IterationSetup(Target = nameof(FirstExpiring))]
    public void StartExpiringHost() => StartHost(CachePolicy.Expiring);

    [IterationSetup(Target = nameof(FirstAfterIdleUnload))]
    public void StartHostAndWaitForIdleUnload()
    {
        _host = PolicyHost<ITransformer>.StartAsync(CachePolicy.Expiring, "taxi-fare-idle", TaxiFareModel.FromFile, timeToLive: TimeSpan.FromHours(1), idleTimeout: ShortIdleTimeout)
            .GetAwaiter().GetResult();
        _cache = _host.Cache;
        _ = _cache.GetModel();

        // The cache's idle timer (real clock) unloads it after 1–1.25 idle timeouts without use.
        long deadline = Environment.TickCount64 + 20 * (long)ShortIdleTimeout.TotalMilliseconds;
        while (_cache.State != ModelCacheState.Unloaded)
        {
            Require(Environment.TickCount64 < deadline, "the expiring model was not unloaded after 20 idle timeouts");
            Thread.Sleep(10);
        }
    }

    [IterationSetup(Target = nameof(LoadDirectly))]
    public void NoSetup()
    {
        // LoadDirectly needs no host; declared so that it runs once per iteration like the others in its table.
    }

    [IterationCleanup(Targets = [nameof(StartLazy), nameof(StartEager), nameof(StartExpiring), nameof(FirstLazy), nameof(FirstEager), nameof(FirstExpiring), nameof(FirstAfterIdleUnload)])]
    public void DisposeHost()
    {
        _host?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _host = null;
    }

    [Benchmark(Baseline = true, Description = "no cache: MLContext.Model.Load(file)")]
    [BenchmarkCategory(FirstRequest)]
    public ITransformer LoadDirectly() => _mlContext.Model.Load(TaxiFareModel.FilePath, out _);

    [Benchmark(Description = "lazy: first GetModel()")]
    [BenchmarkCategory(FirstRequest)]
    public ITransformer FirstLazy() => _cache.GetModel();

    [Benchmark(Description = "eager: first GetModel()")]
    [BenchmarkCategory(FirstRequest)]
    public ITransformer FirstEager() => _cache.GetModel();

    [Benchmark(Description = "expiring: first GetModel()")]
    [BenchmarkCategory(FirstRequest)]
    public ITransformer FirstExpiring() => _cache.GetModel();

    [Benchmark(Description = "expiring: first GetModel() after idle unload")]
    [BenchmarkCategory(FirstRequest)]
    public ITransformer FirstAfterIdleUnload() => _cache.GetModel();

    // ---- steady hit: three loaded hosts ----------------------------------------------------------------------

    [GlobalSetup(Targets = [nameof(LazyValue), nameof(HitLazy), nameof(HitEager), nameof(HitExpiring)])]
    public async Task StartLoadedHostsAsync()
    {
        _lazy = new Lazy<ITransformer>(() => _mlContext.Model.Load(TaxiFareModel.FilePath, out _), LazyThreadSafetyMode.ExecutionAndPublication);
        _ = _lazy.Value;

        _lazyHost = await PolicyHost<ITransformer>.StartAsync(CachePolicy.Lazy, "taxi-fare-lazy", TaxiFareModel.FromFile);
        _lazyCache = _lazyHost.Cache;
        await _lazyCache.GetModelAsync();

        _eagerHost = await PolicyHost<ITransformer>.StartAsync(CachePolicy.Eager, "taxi-fare-eager", TaxiFareModel.FromFile);
        _eagerCache = _eagerHost.Cache;
        Require(_eagerCache.State == ModelCacheState.Ready, "the eager model is not loaded after host start");

        // Default expiring settings (10 min time-to-live, 5 min idle timeout): their timers run, nothing reloads.
        _expiringHost = await PolicyHost<ITransformer>.StartAsync(CachePolicy.Expiring, "taxi-fare-expiring", TaxiFareModel.FromFile);
        _expiringCache = _expiringHost.Cache;
        await _expiringCache.GetModelAsync();
    }

    [GlobalCleanup(Targets = [nameof(LazyValue), nameof(HitLazy), nameof(HitEager), nameof(HitExpiring)])]
    public async Task StopLoadedHostsAsync()
    {
        await _lazyHost.DisposeAsync();
        await _eagerHost.DisposeAsync();
        await _expiringHost.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "Lazy<ITransformer>.Value")]
    [BenchmarkCategory(SteadyHit)]
    public ITransformer LazyValue() => _lazy.Value;

    [Benchmark(Description = "lazy: GetModel()")]
    [BenchmarkCategory(SteadyHit)]
    public ITransformer HitLazy() => _lazyCache.GetModel();

    [Benchmark(Description = "eager: GetModel()")]
    [BenchmarkCategory(SteadyHit)]
    public ITransformer HitEager() => _eagerCache.GetModel();

    [Benchmark(Description = "expiring: GetModel()")]
    [BenchmarkCategory(SteadyHit)]
    public ITransformer HitExpiring() => _expiringCache.GetModel();

    // ---- hit during refresh-ahead ----------------------------------------------------------------------------

    [GlobalSetup(Target = nameof(HitExpiringQuiet))]
    public async Task StartQuietExpiringHostAsync()
    {
        _probe = new ReloadProbe();
        _host = await PolicyHost<ITransformer>.StartAsync(CachePolicy.Expiring, "taxi-fare-quiet", model => TaxiFareModel.FromAlternatingVersions(model, _probe), timeToLive: TimeSpan.FromHours(1));
        _cache = _host.Cache;
        await _cache.GetModelAsync();
        _loadsAtStart = _probe.Started;
        _label = "no reload running";
    }

    [GlobalSetup(Target = nameof(HitExpiringRefreshing))]
    public async Task StartRefreshingExpiringHostAsync()
    {
        // Refresh-ahead starts at half the time-to-live after each load: with a 40 ms time-to-live and loads of a
        // few ms, a reload of a new version (the source alternates two) is running a good part of the time.
        _probe = new ReloadProbe();
        _host = await PolicyHost<ITransformer>.StartAsync(CachePolicy.Expiring, "taxi-fare-refreshing", model => TaxiFareModel.FromAlternatingVersions(model, _probe), timeToLive: ShortTimeToLive, refreshAheadRatio: 0.5);
        _cache = _host.Cache;
        await _cache.GetModelAsync();
        _loadsAtStart = _probe.Started;
        _label = "refresh-ahead reloading";
    }

    [GlobalCleanup(Targets = [nameof(HitExpiringQuiet), nameof(HitExpiringRefreshing)])]
    public async Task StopExpiringHostAsync()
    {
        long reloads = _probe.Started - _loadsAtStart;
        ModelCacheStatistics statistics = _cache.GetStatistics();
        Console.WriteLine($"// expiring, {_label}: {reloads} reloads during the run; cache loads {statistics.Loads}, load failures {statistics.LoadFailures}, state {statistics.State}.");
        await _host!.DisposeAsync();
        _host = null;
    }

    [Benchmark(Baseline = true, Description = "expiring: GetModel(), no reload running")]
    [BenchmarkCategory(DuringRefresh)]
    public ITransformer HitExpiringQuiet() => _cache.GetModel();

    [Benchmark(Description = "expiring: GetModel(), refresh-ahead reloading back to back")]
    [BenchmarkCategory(DuringRefresh)]
    public ITransformer HitExpiringRefreshing() => _cache.GetModel();

    // ---------------------------------------------------------------------------------------------------------

    private void CreateHost(CachePolicy policy) =>
        _host = PolicyHost<ITransformer>.Create(policy, "taxi-fare-" + policy, TaxiFareModel.FromFile);

    private void StartHost(CachePolicy policy)
    {
        _host = PolicyHost<ITransformer>.StartAsync(policy, "taxi-fare-" + policy, TaxiFareModel.FromFile).GetAwaiter().GetResult();
        _cache = _host.Cache;
        Require(policy != CachePolicy.Eager || _cache.State == ModelCacheState.Ready, "the eager model is not loaded after host start");
        Require(policy == CachePolicy.Eager || _cache.State == ModelCacheState.NotLoaded, "a lazy model was loaded before its first request");
    }

    private static void Require(bool condition, string problem)
    {
        if (!condition)
        {
            throw new InvalidOperationException("PolicyComparisonBenchmarks setup: " + problem + ".");
        }
    }
}
