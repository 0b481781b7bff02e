using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ModelCaching.Diagnostics;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Reload;

/// <summary>
/// The swap pipeline over an in-memory source on a <see cref="Microsoft.Extensions.Time.Testing.FakeTimeProvider"/>:
/// load beside the current generation, validate, warm up, swap, and what happens when a change arrives meanwhile.
/// </summary>
public sealed class SwapPipelineTests
{
    private readonly CacheFactory _factory = new();
    private readonly LogSignals _logs = new();

    private static string Sha256(string text) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));

    private ModelCache<FakeModel> Create(Action<ModelOptions<FakeModel>>? configure = null) =>
        new("test-model", _factory.Options(configure), _factory.Time, _logs);

    [Fact]
    public async Task ChangesDuringAReload_CauseExactlyOneMoreReload_OfTheLatestContent()
    {
        await using ModelCache<FakeModel> cache = Create();
        await cache.GetModelAsync();
        var loading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _factory.Loader.BeforeLoad = async _ =>
        {
            loading.TrySetResult();
            await release.Task;
        };

        var reloads = new List<ModelReloadedEventArgs>();
        var twoReloads = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cache.Reloaded += (_, args) =>
        {
            lock (reloads)
            {
                reloads.Add(args);
                if (reloads.Count == 2)
                {
                    twoReloads.TrySetResult();
                }
            }
        };
        _factory.Source.Change("v2");
        await loading.Task.WaitAsync(LogSignals.Timeout); // v2 was fetched; its load is held

        _factory.Source.Change("v3");
        _factory.Source.Change("v4");
        _factory.Source.Change("v5");
        release.SetResult();

        await twoReloads.Task.WaitAsync(LogSignals.Timeout);
        Assert.Equal([Sha256("v2"), Sha256("v5")], reloads.Select(static args => args.Current.Id));
        Assert.Equal("v5", cache.GetModel().Content);

        // An explicit reload now: it runs after any load still queued, so the history below is complete.
        await cache.ReloadAsync();
        Assert.Equal(
            [
                (ModelLoadReason.FirstUse, ModelLoadOutcome.Success),
                (ModelLoadReason.SourceChanged, ModelLoadOutcome.Success),
                (ModelLoadReason.SourceChanged, ModelLoadOutcome.Success),
                (ModelLoadReason.Explicit, ModelLoadOutcome.Unchanged),
            ],
            cache.GetHistory().Select(static record => (record.Reason, record.Outcome)));
        Assert.Equal(3, _factory.Loader.Loads);
    }

    [Fact]
    public async Task Validator_RejectingANewGeneration_KeepsServingTheOldOne_AndDisposesTheRejectedModel()
    {
        await using ModelCache<FakeModel> cache = Create(options => options.Validators.Add((model, _) =>
            model.Content == "v2-wrong-schema"
                ? throw new InvalidOperationException("column 'Score' is Single in the model but UInt32 in the C# type")
                : ValueTask.CompletedTask));
        FakeModel serving = await cache.GetModelAsync();

        _factory.Source.Content = "v2-wrong-schema";
        var error = await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());

        Assert.Contains("column 'Score'", error.Message, StringComparison.Ordinal);
        Assert.Equal("test-model", error.ModelName);
        Assert.Same(serving, cache.GetModel());
        Assert.Equal(ModelCacheState.Degraded, cache.State);
        FakeModel rejected = Assert.Single(_factory.Loader.Created, model => model.Content == "v2-wrong-schema");
        Assert.True(rejected.IsDisposed);
        Assert.False(serving.IsDisposed);
    }

    [Fact]
    public async Task WarmUp_RunsOnTheNewGenerationWhileTheOldOneStillServes()
    {
        var warmedUp = new List<(string WarmedUp, string ServingMeanwhile)>();
        ModelCache<FakeModel>? cacheRef = null;
        await using ModelCache<FakeModel> cache = Create(options => options.WarmUps.Add((model, _) =>
        {
            string serving = cacheRef!.Version is null ? "(none)" : cacheRef.GetModel().Content;
            warmedUp.Add((model.Predict(), serving));
            return ValueTask.CompletedTask;
        }));
        cacheRef = cache;

        await cache.GetModelAsync();
        _factory.Source.Content = "v2";
        await cache.ReloadAsync();

        Assert.Equal([("v1", "(none)"), ("v2", "v1")], warmedUp);
        Assert.Equal("v2", cache.GetModel().Content);
    }

    [Fact]
    public async Task Readiness_OfAnEagerModel_WaitsForItsWarmUp()
    {
        var warming = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddModelCache().AddModel<FakeModel>("eager", model => model
            .FromSource(_factory.Source)
            .UseLoader(_factory.Loader)
            .Eager()
            .Configure(options => options.WarmUps.Add(async (_, _) =>
            {
                warming.TrySetResult();
                await release.Task;
            })));
        services.AddHealthChecks().AddModelCache("eager");
        await using ServiceProvider provider = services.BuildServiceProvider();
        var health = provider.GetRequiredService<HealthCheckService>();
        Task<FakeModel> firstUse = provider.GetRequiredKeyedService<IModelCache<FakeModel>>("eager").GetModelAsync().AsTask();

        await warming.Task.WaitAsync(LogSignals.Timeout);
        Assert.Equal(HealthStatus.Unhealthy, (await health.CheckHealthAsync()).Status);
        Assert.False(firstUse.IsCompleted);

        release.SetResult();
        await firstUse.WaitAsync(LogSignals.Timeout);
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);
    }

    [Fact]
    public async Task WarmUp_ThatFails_RejectsTheGeneration()
    {
        await using ModelCache<FakeModel> cache = Create(options => options.WarmUps.Add((model, _) =>
            model.Content == "v2" ? throw new InvalidOperationException("the first prediction threw") : ValueTask.CompletedTask));
        FakeModel serving = await cache.GetModelAsync();

        _factory.Source.Content = "v2";
        var error = await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());

        Assert.Contains("the first prediction threw", error.Message, StringComparison.Ordinal);
        Assert.Same(serving, cache.GetModel());
        Assert.Equal(ModelCacheState.Degraded, cache.State);
    }

    [Fact]
    public async Task UnloadFirst_DisposesTheOldModelBeforeLoading_AndCallersWaitForTheNewOne()
    {
        await using ModelCache<FakeModel> cache = Create(options => options.SwapMode = ModelSwapMode.UnloadFirst);
        FakeModel old = await cache.GetModelAsync();
        var loading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _factory.Loader.BeforeLoad = async _ =>
        {
            loading.TrySetResult();
            await release.Task;
        };

        _factory.Source.Content = "v2";
        Task<ModelVersion> reload = cache.ReloadAsync();
        await loading.Task.WaitAsync(LogSignals.Timeout);

        // Only one model in memory: the old one is gone before the new one is built.
        Assert.True(old.IsDisposed);
        Assert.Equal(ModelCacheState.Loading, cache.State);
        ValueTask<FakeModel> waiting = cache.GetModelAsync();
        Assert.False(waiting.IsCompleted);

        release.SetResult();
        await reload.WaitAsync(LogSignals.Timeout);
        Assert.Equal("v2", (await waiting.AsTask().WaitAsync(LogSignals.Timeout)).Content);
        Assert.Equal(ModelCacheState.Ready, cache.State);
    }

    [Fact]
    public async Task UnloadFirst_WhenTheNewModelFails_RestoresThePreviousContent()
    {
        await using ModelCache<FakeModel> cache = Create(options => options.SwapMode = ModelSwapMode.UnloadFirst);
        FakeModel old = await cache.GetModelAsync();
        string version = cache.Version!.Id;

        _factory.Source.Content = "bad bytes";
        await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());

        Assert.True(old.IsDisposed);
        FakeModel restored = await cache.GetModelAsync().AsTask().WaitAsync(LogSignals.Timeout);
        Assert.Equal("v1", restored.Content);
        Assert.Equal(version, cache.Version!.Id);
    }

    [Fact]
    public async Task Rollback_ServesThePreviousVersionAgain_AndAutomaticReloadsSkipTheRolledBackContent()
    {
        await using ModelCache<FakeModel> cache = Create();
        await cache.GetModelAsync();
        ModelVersion v1 = cache.Version!;
        _factory.Source.Content = "v2";
        await cache.ReloadAsync();
        FakeModel v2Model = cache.GetModel();

        ModelVersion rolledBack = await cache.RollbackAsync();

        Assert.Equal(v1.Id, rolledBack.Id);
        Assert.Equal(3, rolledBack.Generation);
        Assert.Equal("v1", cache.GetModel().Content);
        Assert.True(v2Model.IsDisposed);
        ModelLoadRecord last = cache.GetHistory()[^1];
        Assert.Equal((ModelLoadReason.Rollback, ModelLoadOutcome.Success, v1.Id), (last.Reason, last.Outcome, last.VersionId));

        // The source still has v2: a change notification does not bring it back.
        Task skipped = _logs.WaitForAsync(Log.EventIds.KnownBadContentSkipped);
        _factory.Source.Change("v2");
        await skipped;
        // The skip is logged when the content is fetched; the history records it when the attempt finishes, just after.
        await Eventually.TrueAsync(() => cache.GetHistory()[^1].Reason == ModelLoadReason.SourceChanged, "the skipped reload is in the history");
        Assert.Equal("v1", cache.GetModel().Content);
        Assert.Equal((ModelLoadReason.SourceChanged, ModelLoadOutcome.Skipped), (cache.GetHistory()[^1].Reason, cache.GetHistory()[^1].Outcome));

        // There is no second step back.
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => cache.RollbackAsync());
        Assert.Contains("'test-model' has no previous version", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task History_KeepsTheLastAttemptsWithReasonOutcomeVersionAndError()
    {
        await using ModelCache<FakeModel> cache = Create(options => options.HistoryLength = 3);
        await cache.GetModelAsync();
        _factory.Source.Content = "v2";
        await cache.ReloadAsync();
        _factory.Source.Content = "bad v3";
        await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());
        _factory.Source.Content = "v4";
        await cache.ReloadAsync();

        IReadOnlyList<ModelLoadRecord> history = cache.GetHistory();

        Assert.Equal(3, history.Count);
        Assert.Equal([ModelLoadOutcome.Success, ModelLoadOutcome.Failure, ModelLoadOutcome.Success], history.Select(static r => r.Outcome));
        Assert.Contains("corrupt model 'bad v3'", history[1].Error, StringComparison.Ordinal);
        Assert.Equal(cache.Version!.Id, history[2].VersionId);
        Assert.Null(history[2].Error);
        Assert.True(history[0].At <= history[2].At);
    }

    [Fact]
    public async Task ExpectedSha256_ThatDoesNotMatch_IsRejected_NamingBothHashes()
    {
        string expected = new('a', 64);
        await using ModelCache<FakeModel> cache = Create(options => options.ExpectedSha256 = expected);

        var error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        Assert.Contains("SHA-256 mismatch", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Equal(0, _factory.Loader.Loads);
        Assert.Equal(ModelCacheState.Failed, cache.State);
    }

    [Fact]
    public async Task ExpectedSha256_ThatMatches_Loads()
    {
        string hash = Sha256("v1").ToUpperInvariant();
        await using ModelCache<FakeModel> cache = Create(options => options.ExpectedSha256 = hash);

        Assert.Equal("v1", (await cache.GetModelAsync()).Content);
        Assert.Equal(hash.ToLowerInvariant(), cache.Version!.Id);
    }
}
