using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.ML;
using ModelCaching.Benchmarks.CacheHit;
using ModelCaching.Benchmarks.Prediction;
using ModelCaching.Fleet;
using ModelCaching.ML;
using ModelCaching.ML.Compatibility;
using ModelCaching.Redis.Tests.Support;

namespace ModelCaching.Benchmarks.Fleet;

/// <summary>
/// Issue 19's "the hit path does not change": the same hits on the same models in a cache without a fleet (the baseline
/// of each category) and in a cache that joined a fleet with <c>AddRedisFleet</c>, in one BenchmarkDotNet run. Both
/// caches are registered alike (<c>AddModelCache().AddHostedStartup()</c>, a lazy <see cref="HitModel"/> from memory and
/// iris.zip with <c>UseMLNet</c>), started as a host starts them (every <see cref="IHostedService"/>) and resolved as an
/// application resolves them (keyed <see cref="IModelCache{TModel}"/>). The fleet's cache differs only by
/// <c>AddRedisFleet</c>, joined to a real <c>redis-server</c> on a free 127.0.0.1 port (the Redis tests' fixture, linked).
/// Its setup publishes version v1 of both models (for the hit model other bytes than its local source, so it really
/// reloads from the fleet; for iris the same bytes, which it already serves) and waits until the instance's own membership entry in Redis says it serves v1 of both; the
/// agent then keeps running through the measurement, with heartbeats every second and reconciliation every 5 s (the
/// defaults are 10 s and 30 s), so its Redis work runs alongside the measured calls. Each benchmark sets up only its own
/// side: a baseline process runs no fleet agent and no redis-server.
/// Categories: <c>GetModel()</c>, <c>Acquire()+Dispose()</c>, and one pooled iris prediction
/// (<c>PredictionPool.Predict(input, ref output)</c>). The expected ratio is 1.00 within noise, with 0 B allocated on
/// both sides. <c>dotnet run -c Release --project benchmarks/ModelCaching.Benchmarks -- --filter '*FleetHit*'</c>
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet derives from benchmark classes.</remarks>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[SimpleJob(launchCount: 3, warmupCount: 5, iterationCount: 15)]
public class FleetHitBenchmarks
{
    private const string HitName = "hit-model";
    private const string IrisName = "iris";
    private const string VersionId = "v1";
    private const string GetModelCategory = "GetModel()";
    private const string LeaseCategory = "Acquire()+Dispose()";
    private const string PredictCategory = "pooled Predict(input, ref output)";
    private static readonly TimeSpan FleetBound = TimeSpan.FromSeconds(30);

    private RedisServer? _redis;
    private Instance? _instance;
    private IModelCache<HitModel> _hits = null!;
    private PredictionPool<IrisData, IrisPrediction> _pool = null!;
    private IrisData _input = null!;
    private IrisPrediction _output = new();

    [GlobalSetup(Targets = [nameof(GetModelWithoutFleet), nameof(AcquireWithoutFleet), nameof(PredictWithoutFleet)])]
    public async Task SetupWithoutFleetAsync()
    {
        _instance = await Instance.StartAsync(redisConfiguration: null, fleetName: null);
        await UseAsync(_instance);
        Console.WriteLine($"// FleetHitBenchmarks setup: no fleet, no redis-server; {_instance.Services.GetServices<IHostedService>().Count()} hosted services");
    }

    [GlobalSetup(Targets = [nameof(GetModelInFleet), nameof(AcquireInFleet), nameof(PredictInFleet)])]
    public async Task SetupInFleetAsync()
    {
        // RedisServer kills redis-server on dispose, on process exit and on Ctrl+C; BenchmarkDotNet's host kills the
        // benchmark process's tree (redis-server with it) if the run is interrupted there.
        _redis = await RedisServer.StartAsync();
        string fleetName = "fleet-hit-" + Guid.NewGuid().ToString("N")[..12];
        _instance = await Instance.StartAsync(_redis.Configuration, fleetName);
        await UseAsync(_instance);

        IModelFleet fleet = _instance.Services.GetRequiredService<IModelFleet>();
        FleetVersion hit = await fleet.PublishAsync(HitName, "hit-model, fleet v1"u8.ToArray(), new FleetPublishOptions { VersionId = VersionId });
        await fleet.PublishFileAsync(IrisName, IrisData.ModelPath, new FleetPublishOptions { VersionId = VersionId });
        await WaitUntilServingAsync(fleet, _instance.InstanceId);

        Require(string.Equals(_hits.Version?.Id, hit.Sha256, StringComparison.OrdinalIgnoreCase), "the fleet's hit model is not the published v1");
        Require(_pool.Predict(_input).PredictedLabel == 2f, "the fleet's iris model predicts wrongly");
        Console.WriteLine($"// FleetHitBenchmarks setup: in fleet {fleetName} on redis-server 127.0.0.1:{_redis.Port}; instance {_instance.InstanceId} reports serving {VersionId} of {HitName} and {IrisName}; {_instance.Services.GetServices<IHostedService>().Count()} hosted services");
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _pool?.Dispose();
        if (_instance is not null)
        {
            await _instance.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    [BenchmarkCategory(GetModelCategory)]
    [Benchmark(Baseline = true, Description = "GetModel(), no fleet")]
    public HitModel GetModelWithoutFleet() => _hits.GetModel();

    [BenchmarkCategory(GetModelCategory)]
    [Benchmark(Description = "GetModel(), in a Redis fleet")]
    public HitModel GetModelInFleet() => _hits.GetModel();

    [BenchmarkCategory(LeaseCategory)]
    [Benchmark(Baseline = true, Description = "Acquire()+Dispose(), no fleet")]
    public HitModel AcquireWithoutFleet()
    {
        using ModelLease<HitModel> lease = _hits.Acquire();
        return lease.Model;
    }

    [BenchmarkCategory(LeaseCategory)]
    [Benchmark(Description = "Acquire()+Dispose(), in a Redis fleet")]
    public HitModel AcquireInFleet()
    {
        using ModelLease<HitModel> lease = _hits.Acquire();
        return lease.Model;
    }

    [BenchmarkCategory(PredictCategory)]
    [Benchmark(Baseline = true, Description = "pooled iris prediction, no fleet")]
    public IrisPrediction PredictWithoutFleet()
    {
        _pool.Predict(_input, ref _output);
        return _output;
    }

    [BenchmarkCategory(PredictCategory)]
    [Benchmark(Description = "pooled iris prediction, in a Redis fleet")]
    public IrisPrediction PredictInFleet()
    {
        _pool.Predict(_input, ref _output);
        return _output;
    }

    /// <summary>Both sides: load both models (lazy: the first call loads) and build the pool, so every measured call is a hit.</summary>
    private async Task UseAsync(Instance instance)
    {
        _hits = instance.Services.GetRequiredKeyedService<IModelCache<HitModel>>(HitName);
        await _hits.GetModelAsync();
        IModelCache<ITransformer> iris = instance.Services.GetRequiredKeyedService<IModelCache<ITransformer>>(IrisName);
        await iris.GetModelAsync();
        MLContext context = instance.Services.GetRequiredService<IOptions<MLOptions>>().Value.MLContext;
        _pool = new PredictionPool<IrisData, IrisPrediction>(iris, context);
        _input = IrisData.Virginica;
        Require(_pool.Predict(_input).PredictedLabel == 2f, "iris predicts wrongly");
    }

    /// <summary>Waits, with a bound, until this instance's membership entry in Redis (written by the agent) reports v1 of both models.</summary>
    private static async Task WaitUntilServingAsync(IModelFleet fleet, string instanceId)
    {
        using var bound = new CancellationTokenSource(FleetBound);
        while (true)
        {
            FleetStatus status = await fleet.GetStatusAsync(bound.Token);
            FleetMember? self = status.Members.FirstOrDefault(m => m.InstanceId == instanceId);
            if (self is not null && self.Models.Count(static m => m.Name is HitName or IrisName && m.ServedVersionId == VersionId) == 2)
            {
                return;
            }

            if (bound.IsCancellationRequested)
            {
                string seen = self is null ? "no membership entry" : string.Join(", ", self.Models.Select(static m => $"{m.Name}: {m.ServedVersionId ?? "nothing"} ({m.LastError})"));
                throw new TimeoutException($"FleetHitBenchmarks setup: the instance did not serve {VersionId} of both models within {FleetBound}; it reports {seen}");
            }

            await Task.Delay(50, CancellationToken.None);
        }
    }

    private static void Require(bool condition, string problem)
    {
        if (!condition)
        {
            throw new InvalidOperationException("FleetHitBenchmarks setup: " + problem + ".");
        }
    }

    /// <summary>One application instance: its own service provider, its hosted services started and stopped as a host would.</summary>
    private sealed class Instance : IAsyncDisposable
    {
        private readonly IHostedService[] _hosted;

        private Instance(ServiceProvider services, string instanceId)
        {
            Services = services;
            InstanceId = instanceId;
            _hosted = [.. services.GetServices<IHostedService>()];
        }

        public ServiceProvider Services { get; }

        public string InstanceId { get; }

        /// <summary>Without <paramref name="redisConfiguration"/>: the same registration without <c>AddRedisFleet</c>.</summary>
        public static async Task<Instance> StartAsync(string? redisConfiguration, string? fleetName)
        {
            string instanceId = "bench-" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var services = new ServiceCollection();
            services.AddLogging();
            IModelCacheBuilder builder = services.AddModelCache().AddHostedStartup()
                .AddModel<HitModel>(HitName, static model => HitModel.FromMemory(model.Lazy()))
                .AddModel<ITransformer>(IrisName, static model => model.Lazy().FromFile(IrisData.ModelPath).UseMLNet());
            if (redisConfiguration is not null)
            {
                builder.AddRedisFleet(o =>
                {
                    o.Configuration = redisConfiguration;
                    o.FleetName = fleetName!;
                    o.InstanceId = instanceId;
                    o.LoadJitter = TimeSpan.Zero;
                    o.HeartbeatInterval = TimeSpan.FromSeconds(1);
                    o.ReconcileInterval = TimeSpan.FromSeconds(5);
                });
            }

            var instance = new Instance(services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true }), instanceId);
            foreach (IHostedService hosted in instance._hosted)
            {
                await hosted.StartAsync(CancellationToken.None);
            }

            return instance;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (IHostedService hosted in _hosted.Reverse())
            {
                await hosted.StopAsync(CancellationToken.None);
            }

            await Services.DisposeAsync();
        }
    }
}
