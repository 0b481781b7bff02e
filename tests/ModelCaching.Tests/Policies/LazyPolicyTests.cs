using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Policies;

public sealed class LazyPolicyTests
{
    [Fact]
    public async Task Constructing_DoesNotLoad_FirstUseLoads()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create();

        Assert.Equal(ModelCacheState.NotLoaded, cache.State);
        Assert.Equal(0, factory.Loader.Loads);
        Assert.Null(cache.Version);

        FakeModel model = await cache.GetModelAsync();

        Assert.Equal("v1", model.Content);
        Assert.Equal(1, factory.Loader.Loads);
        Assert.Equal(ModelCacheState.Ready, cache.State);
        Assert.Equal(1, cache.Version!.Generation);
    }

    [Fact]
    public async Task ThousandConcurrentFirstCallers_CauseExactlyOneLoad()
    {
        var factory = new CacheFactory();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        factory.Loader.BeforeLoad = _ => release.Task;
        await using ModelCache<FakeModel> cache = factory.Create();

        // 900 async callers on the pool and 100 synchronous GetModel() callers on their own threads (a blocked
        // synchronous caller holds its thread, so putting hundreds of them on the shared pool would only test
        // the pool's thread injection), all racing the same first load.
        var callers = new List<Task<FakeModel>>(1000);
        for (int i = 0; i < 900; i++)
        {
            callers.Add(Task.Run(() => cache.GetModelAsync().AsTask()));
        }

        for (int i = 0; i < 100; i++)
        {
            callers.Add(Task.Factory.StartNew(cache.GetModel, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));
        }

        FakeModel[] models;
        try
        {
            await Eventually.TrueAsync(() => factory.Loader.Loads == 1, "the load to start");
        }
        finally
        {
            release.TrySetResult();
        }

        models = await Task.WhenAll(callers).WaitAsync(Eventually.Timeout);

        Assert.Equal(1, factory.Loader.Loads);
        Assert.Equal(1, factory.Source.Fetches);
        Assert.All(models, model => Assert.Same(models[0], model));
    }

    [Fact]
    public async Task FailedLoad_IsNotRemembered_NextCallAfterCooldownRetries()
    {
        var factory = new CacheFactory();
        factory.Source.Content = "bad bytes";
        await using ModelCache<FakeModel> cache = factory.Create(o =>
        {
            o.FailureCooldown = TimeSpan.FromSeconds(2);
            o.RetryBaseDelay = TimeSpan.Zero; // no background retry: this test is about callers retrying
        });

        var first = await Assert.ThrowsAsync<ModelLoadException>(() => cache.GetModelAsync().AsTask());
        Assert.Equal(ModelCacheState.Failed, cache.State);

        // Within the cool-down: the same failure at once, without another load.
        factory.Source.Content = "v1";
        var cooled = await Assert.ThrowsAsync<ModelLoadException>(() => cache.GetModelAsync().AsTask());
        Assert.Equal(first.Message, cooled.Message);
        Assert.Equal(1, factory.Loader.Loads);

        factory.Time.Advance(TimeSpan.FromSeconds(2));
        FakeModel model = await cache.GetModelAsync();

        Assert.Equal("v1", model.Content);
        Assert.Equal(2, factory.Loader.Loads);
        Assert.Equal(ModelCacheState.Ready, cache.State);
    }

    [Fact]
    public async Task CallerCancellation_StopsOnlyThatCallersWait()
    {
        var factory = new CacheFactory();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        factory.Loader.BeforeLoad = _ => release.Task;
        await using ModelCache<FakeModel> cache = factory.Create();

        using var impatient = new CancellationTokenSource();
        Task<FakeModel> cancelled = cache.GetModelAsync(impatient.Token).AsTask();
        Task<FakeModel> patient = cache.GetModelAsync().AsTask();
        await Eventually.TrueAsync(() => factory.Loader.Loads == 1, "the load to start");

        impatient.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.False(patient.IsCompleted);

        release.SetResult();
        Assert.Equal("v1", (await patient.WaitAsync(Eventually.Timeout)).Content);
        Assert.Equal(1, factory.Loader.Loads);
    }

    [Fact]
    public async Task GetModel_OnAHit_ReturnsTheSameInstanceAndCountsHits()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create();
        FakeModel first = cache.GetModel();

        for (int i = 0; i < 100; i++)
        {
            Assert.Same(first, cache.GetModel());
        }

        ModelCacheStatistics statistics = cache.GetStatistics();
        Assert.Equal(100, statistics.Hits);
        Assert.Equal(1, statistics.Misses);
        Assert.Equal(1, statistics.Loads);
    }
}
