using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Errors;

public sealed class LoadErrorTests
{
    [Fact]
    public async Task LoaderThrows_WithNothingServing_ThrowsModelLoadExceptionNamingModelSourceAndCause()
    {
        var factory = new CacheFactory();
        factory.Source.Content = "bad header";
        await using ModelCache<FakeModel> cache = factory.Create(name: "fraud-scorer");

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        Assert.Equal("fraud-scorer", error.ModelName);
        Assert.Equal("memory:test", error.Source);
        Assert.Contains("fraud-scorer", error.Message);
        Assert.Contains("memory:test", error.Message);
        Assert.Contains("corrupt model", error.Message);
        Assert.IsType<InvalidDataException>(error.InnerException);
        Assert.Equal(ModelCacheState.Failed, cache.State);
        Assert.Throws<ModelLoadException>(() => cache.GetModel());
    }

    [Fact]
    public async Task LoaderReturnsNull_IsAnError()
    {
        var factory = new CacheFactory();
        await using var cache = new ModelCache<FakeModel>(
            "null-model",
            new ModelOptions<FakeModel> { Source = factory.Source, Loader = new DelegateModelLoader<FakeModel>((_, _) => ValueTask.FromResult<FakeModel>(null!)) },
            factory.Time);

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        Assert.Contains("returned null", error.Message);
        Assert.Null(cache.Version);
    }

    [Fact]
    public async Task LoaderHangs_TimesOutAfterLoadTimeout_AndTheLateModelIsDisposedNotServed()
    {
        var factory = new CacheFactory();
        var hang = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        factory.Loader.BeforeLoad = _ => hang.Task; // ignores its token, like a blocking native load
        await using ModelCache<FakeModel> cache = factory.Create(o => o.LoadTimeout = TimeSpan.FromSeconds(30), name: "slow-model");

        ValueTask<FakeModel> call = cache.GetModelAsync();
        await Eventually.TrueAsync(() => factory.Loader.Loads == 1, "the loader to start");
        factory.Time.Advance(TimeSpan.FromSeconds(31));

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(async () => await call);
        Assert.Equal("slow-model", error.ModelName);
        Assert.IsType<TimeoutException>(error.InnerException);
        Assert.Contains("timed out", error.Message, StringComparison.OrdinalIgnoreCase);

        hang.SetResult();
        await Eventually.TrueAsync(() => factory.Loader.Created.Count == 1 && factory.Loader.Created[0].IsDisposed, "the abandoned model to be disposed");
        Assert.Null(cache.Version);
    }

    [Fact]
    public async Task LoaderHangs_DuringAReload_KeepsServingTheCurrentModel()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create(o => o.LoadTimeout = TimeSpan.FromSeconds(30));
        FakeModel v1 = await cache.GetModelAsync();
        factory.Loader.BeforeLoad = _ => new TaskCompletionSource().Task;
        factory.Source.Content = "v2";

        Task<ModelVersion> reload = cache.ReloadAsync();
        await Eventually.TrueAsync(() => factory.Loader.Loads == 2, "the reload to start");
        factory.Time.Advance(TimeSpan.FromSeconds(31));

        await Assert.ThrowsAsync<ModelLoadException>(() => reload);
        Assert.Same(v1, cache.GetModel());
        Assert.Equal(ModelCacheState.Degraded, cache.State);
    }

    [Fact]
    public async Task LoaderCancelsItself_IsAFailureNamingTheModel()
    {
        var factory = new CacheFactory();
        factory.Loader.BeforeLoad = _ => Task.FromCanceled(new CancellationToken(canceled: true));
        await using ModelCache<FakeModel> cache = factory.Create(name: "cancelled-model");

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        Assert.Equal("cancelled-model", error.ModelName);
        Assert.IsAssignableFrom<OperationCanceledException>(error.InnerException);
    }

    [Fact]
    public async Task CallerCancellation_DuringAReload_DoesNotCancelTheReload()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create();
        await cache.GetModelAsync();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        factory.Loader.BeforeLoad = _ => gate.Task;
        factory.Source.Content = "v2";
        using var cts = new CancellationTokenSource();

        Task<ModelVersion> reload = cache.ReloadAsync(cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reload);
        Task<ModelReloadedEventArgs> next = Eventually.NextReload(cache);
        gate.SetResult();

        ModelReloadedEventArgs reloaded = await next;
        Assert.Equal(ModelLoadReason.Explicit, reloaded.Reason);
        Assert.Equal("v2", cache.GetModel().Content);
    }

    [Fact]
    public async Task MaxConcurrentLoads_LimitsLoadsAcrossModels()
    {
        int inside = 0;
        int maxInside = 0;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async ValueTask<FakeModel> Load(ModelArtifact artifact, CancellationToken ct)
        {
            int now = Interlocked.Increment(ref inside);
            InterlockedMax(ref maxInside, now);
            await gate.Task;
            Interlocked.Decrement(ref inside);
            return new FakeModel("m");
        }

        var services = new ServiceCollection();
        IModelCacheBuilder builder = services.AddModelCache(o => o.MaxConcurrentLoads = 1);
        for (int i = 0; i < 3; i++)
        {
            builder.AddModel<FakeModel>($"model-{i}", m => m.FromSource(new MutableSource($"v{i}")).UseLoader(Load));
        }

        await using ServiceProvider provider = services.BuildServiceProvider();
        var caches = Enumerable.Range(0, 3).Select(i => provider.GetRequiredKeyedService<IModelCache<FakeModel>>($"model-{i}")).ToArray();

        Task<FakeModel>[] calls = [.. caches.Select(c => c.GetModelAsync().AsTask())];
        await Eventually.TrueAsync(() => Volatile.Read(ref inside) == 1 && caches.All(c => c.State == ModelCacheState.Loading), "one load to run and the others to queue");
        gate.SetResult();
        await Task.WhenAll(calls).WaitAsync(Eventually.Timeout);

        Assert.Equal(1, maxInside);
        Assert.All(caches, c => Assert.Equal(ModelCacheState.Ready, c.State));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
