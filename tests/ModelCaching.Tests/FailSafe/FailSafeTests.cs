using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using ModelCaching.Diagnostics;
using ModelCaching.Tests.Reload;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.FailSafe;

/// <summary>
/// A bad model never replaces a good one: the cache keeps serving, says Degraded (state, health check, log,
/// metric) with the cause, retries with backoff on the injected clock, skips bytes it knows are bad, and is
/// Ready again on the next good content.
/// </summary>
public sealed class FailSafeTests : IDisposable
{
    private static readonly string IrisZip = Path.Combine(AppContext.BaseDirectory, "TestModels", "iris.zip");

    private readonly TempDirectory _directory = new();
    private readonly LogSignals _logs = new();
    private readonly CacheFactory _factory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task CorruptFile_WhileServing_IsDegradedInStateHealthLogAndMetric_WithTheCause_AndTheNextGoodFileMakesItReady()
    {
        string path = _directory.File("iris.zip");
        File.Copy(IrisZip, path);
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddProvider(_logs));
        services.AddMetrics();
        services.AddModelCache().AddModel<ZipModel>("iris", model => model
            .FromFile(path)
            .UseLoader(new ZipModelLoader())
            .Configure(options => options.RetryBaseDelay = TimeSpan.Zero));
        services.AddHealthChecks().AddModelCache("iris");
        await using ServiceProvider provider = services.BuildServiceProvider();
        var cache = provider.GetRequiredKeyedService<IModelCache<ZipModel>>("iris");
        ZipModel serving = await cache.GetModelAsync();
        using var failures = new MetricCollector<long>(provider.GetRequiredService<IMeterFactory>(), ModelCacheDiagnostics.MeterName, "modelcache.load.failures");

        byte[] corrupt = await File.ReadAllBytesAsync(IrisZip);
        Array.Fill(corrupt, (byte)0x5A, corrupt.Length - 40, 40); // the end-of-central-directory record
        await File.WriteAllBytesAsync(path, corrupt);
        var error = await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());

        Assert.Equal("iris", error.ModelName);
        Assert.Contains(path, error.Source, StringComparison.Ordinal);
        Assert.IsType<InvalidDataException>(error.InnerException);
        Assert.Same(serving, cache.GetModel());
        Assert.False(serving.IsDisposed);
        Assert.Equal(ModelCacheState.Degraded, cache.State);
        HealthReportEntry health = (await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["modelcache:iris"];
        Assert.Equal(HealthStatus.Degraded, health.Status);
        Assert.Contains("'iris' is serving its last good version", health.Description, StringComparison.Ordinal);
        Assert.Contains("InvalidDataException", health.Description, StringComparison.Ordinal);
        Assert.Equal(1, _logs.Count(Log.EventIds.ReloadFailedServingLastGood));
        CollectedMeasurement<long> failure = Assert.Single(failures.GetMeasurementSnapshot());
        Assert.Equal("iris", failure.Tags["modelcache.model.name"]);
        Assert.Equal(typeof(InvalidDataException).FullName, failure.Tags["error.type"]);

        File.Copy(IrisZip, path, overwrite: true);
        await cache.ReloadAsync(); // the good bytes again: nothing to load, and nothing wrong any more
        Assert.Equal(ModelCacheState.Ready, cache.State);
        Assert.Equal(HealthStatus.Healthy, (await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Status);
        Assert.Same(serving, cache.GetModel());
    }

    [Fact]
    public async Task FailedReloads_AreRetriedWithExponentialBackoffAndJitter_OnTheInjectedClock_UntilTheSourceRecovers()
    {
        TimeSpan baseDelay = TimeSpan.FromSeconds(2);
        TimeSpan maxDelay = TimeSpan.FromSeconds(10);
        await using var cache = new ModelCache<FakeModel>(
            "backoff",
            _factory.Options(options =>
            {
                options.RetryBaseDelay = baseDelay;
                options.RetryMaxDelay = maxDelay;
            }),
            _factory.Time,
            _logs);
        await cache.GetModelAsync();

        _factory.Source.FailWith = new IOException("the share is offline");
        await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());

        var delays = new List<TimeSpan>();
        var nominals = new List<TimeSpan>();
        for (int attempt = 1; attempt <= 5; attempt++)
        {
            await _logs.WaitForAsync(Log.EventIds.RetryScheduled, attempt);
            IReadOnlyDictionary<string, object?> scheduled = _logs.Values(Log.EventIds.RetryScheduled)[attempt - 1];
            Assert.Equal(attempt, scheduled["Attempt"]);
            var delay = (TimeSpan)scheduled["Delay"]!;
            delays.Add(delay);

            TimeSpan nominal = TimeSpan.FromTicks(Math.Min(baseDelay.Ticks << (attempt - 1), maxDelay.Ticks));
            nominals.Add(nominal);
            Assert.InRange(delay, nominal * 0.8, nominal * 1.2);

            // Nothing happens before the delay is up; the retry starts when it is, even when the time comes
            // while the failed load that scheduled it is still ending (it queues one more load then).
            int fetches = _factory.Source.Fetches;
            _factory.Time.Advance(delay - TimeSpan.FromMilliseconds(1));
            Assert.Equal(attempt, _logs.Count(Log.EventIds.RetryScheduled));
            _factory.Time.Advance(TimeSpan.FromMilliseconds(1));
            await _logs.WaitForAsync(Log.EventIds.RetryScheduled, attempt + 1);
            Assert.Equal(fetches + 1, _factory.Source.Fetches);
        }

        // Jitter: the delays are spread, not exact powers of two (which would make a fleet retry in lockstep).
        Assert.NotEqual(nominals, delays);
        Assert.Equal(ModelCacheState.Degraded, cache.State);
        Assert.All(cache.GetHistory().Skip(2), record => Assert.Equal((ModelLoadReason.Retry, ModelLoadOutcome.Failure), (record.Reason, record.Outcome)));

        // The share comes back: the next retry loads the new content and the cache is Ready.
        _factory.Source.FailWith = null;
        _factory.Source.Content = "v2";
        Task<ModelReloadedEventArgs> recovered = Eventually.NextReload(cache);
        _factory.Time.Advance(maxDelay * 1.2);
        Assert.Equal(ModelLoadReason.Retry, (await recovered).Reason);
        Assert.Equal("v2", cache.GetModel().Content);
        Assert.Equal(ModelCacheState.Ready, cache.State);
    }

    /// <summary>
    /// Returns once the load that logged the last retry has ended. RollbackAsync waits for a load in progress
    /// before it looks for a previous version (there is none here, so it then throws).
    /// </summary>
    /// <remarks>
    /// The retry is scheduled just before the failed load ends; a retry due in that window queues a follow-up
    /// load. Tests that count exactly which loads ran wait for the first one to end before moving time.
    /// </remarks>
    private static Task WhenNoLoadIsRunningAsync(ModelCache<FakeModel> cache) =>
        Assert.ThrowsAsync<InvalidOperationException>(() => cache.RollbackAsync().WaitAsync(LogSignals.Timeout));

    [Fact]
    public async Task BadBytes_AreNotLoadedAgainByRetriesOrChanges_UntilTheyChange_ButAnExplicitReloadTriesThem()
    {
        await using var cache = new ModelCache<FakeModel>("skip", _factory.Options(), _factory.Time, _logs);
        await cache.GetModelAsync();

        _factory.Source.Change("bad bytes");
        await _logs.WaitForAsync(Log.EventIds.ReloadFailedServingLastGood);
        Assert.Equal(2, _factory.Loader.Loads);

        // The retry and another change notification see the same bytes: skipped, the loader is not called.
        await WhenNoLoadIsRunningAsync(cache);
        _factory.Time.Advance(TimeSpan.FromSeconds(3));
        await _logs.WaitForAsync(Log.EventIds.KnownBadContentSkipped);
        _factory.Source.Change("bad bytes");
        await _logs.WaitForAsync(Log.EventIds.KnownBadContentSkipped, 2);
        Assert.Equal(2, _factory.Loader.Loads);
        Assert.Equal("v1", cache.GetModel().Content);
        Assert.Equal(ModelLoadOutcome.Skipped, cache.GetHistory()[^1].Outcome);
        Assert.Contains("has not changed since it was rejected", cache.GetHistory()[^1].Error, StringComparison.Ordinal);

        // An operator's explicit reload does try them (and they still fail).
        await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());
        Assert.Equal(3, _factory.Loader.Loads);

        // New bytes load, and the cache is Ready again.
        Task<ModelReloadedEventArgs> reloaded = Eventually.NextReload(cache);
        _factory.Source.Change("v3");
        await reloaded;
        Assert.Equal("v3", cache.GetModel().Content);
        Assert.Equal(ModelCacheState.Ready, cache.State);
    }

    public static TheoryData<string> LoaderFailures => ["io", "access", "out-of-memory", "invalid-operation", "not-supported"];

    [Theory]
    [MemberData(nameof(LoaderFailures))]
    public async Task AnyLoaderFailure_WhileServing_KeepsTheLastGoodModel_AndIsDegradedNamingTheCause(string kind)
    {
        Exception failure = kind switch
        {
            "io" => new IOException("read error on the volume"),
            "access" => new UnauthorizedAccessException("permission denied"),
            "out-of-memory" => new OutOfMemoryException("the model does not fit"),
            "invalid-operation" => new InvalidOperationException("unknown transformer"),
            _ => new NotSupportedException("model format version 9"),
        };
        await using var cache = new ModelCache<FakeModel>("fragile", _factory.Options(), _factory.Time, _logs);
        FakeModel serving = await cache.GetModelAsync();
        _factory.Loader.BeforeLoad = _ => Task.FromException(failure);

        _factory.Source.Content = "v2";
        var error = await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());

        Assert.Same(failure, error.InnerException);
        Assert.Contains(failure.Message, error.Message, StringComparison.Ordinal);
        Assert.Same(serving, cache.GetModel());
        Assert.False(serving.IsDisposed);
        Assert.Equal(ModelCacheState.Degraded, cache.State);
        Assert.Contains(failure.Message, cache.GetStatistics().LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingFile_WithNothingServing_ThrowsModelLoadExceptionNamingModelFileAndCause()
    {
        string path = _directory.File("missing.zip");
        await using var cache = new ModelCache<ZipModel>("iris", new ModelOptions<ZipModel> { Source = new FileModelSource(path), Loader = new ZipModelLoader() }, _factory.Time);

        var error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        Assert.Equal("iris", error.ModelName);
        Assert.Equal($"file:{path}", error.Source);
        Assert.Contains("the file was not found", error.Message, StringComparison.Ordinal);
        Assert.IsType<FileNotFoundException>(error.InnerException);
        Assert.Equal(ModelCacheState.Failed, cache.State);
    }

    [Fact]
    public async Task OnnxFileWhereAZipIsExpected_WithNothingServing_NamesTheModelAndTheFormatError()
    {
        string path = _directory.File("model.zip");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "TestModels", "breast-cancer-multiclass.onnx"), path);
        await using var cache = new ModelCache<ZipModel>("iris", new ModelOptions<ZipModel> { Source = new FileModelSource(path), Loader = new ZipModelLoader() }, _factory.Time);

        var error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        Assert.Equal("iris", error.ModelName);
        Assert.StartsWith("Model 'iris' could not be loaded from file:", error.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidDataException>(error.InnerException);
    }

    [Fact]
    public async Task LoadTimeout_DuringAReload_KeepsServingAndIsDegraded_WithTheTimeoutAsCause()
    {
        await using var cache = new ModelCache<FakeModel>("slow", _factory.Options(options => options.LoadTimeout = TimeSpan.FromSeconds(30)), _factory.Time, _logs);
        FakeModel serving = await cache.GetModelAsync();
        var loading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _factory.Loader.BeforeLoad = async cancellationToken =>
        {
            loading.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        };

        _factory.Source.Content = "v2";
        Task<ModelVersion> reload = cache.ReloadAsync();
        await loading.Task.WaitAsync(LogSignals.Timeout);
        _factory.Time.Advance(TimeSpan.FromSeconds(30));

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => reload.WaitAsync(LogSignals.Timeout));
        Assert.Contains("the load timed out", error.Message, StringComparison.Ordinal);
        Assert.IsType<TimeoutException>(error.InnerException);
        Assert.Same(serving, cache.GetModel());
        Assert.Equal(ModelCacheState.Degraded, cache.State);
    }
}
