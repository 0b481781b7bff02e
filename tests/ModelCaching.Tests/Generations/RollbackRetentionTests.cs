using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Generations;

public sealed class RollbackRetentionTests
{
    private static async Task<(CacheFactory Factory, ModelCache<FakeModel> Cache, FakeModel V1)> LoadTwoVersions(ModelRollbackRetention retention)
    {
        var factory = new CacheFactory();
        ModelCache<FakeModel> cache = factory.Create(o => o.RollbackRetention = retention, name: "ranker");
        FakeModel v1 = await cache.GetModelAsync();
        factory.Source.Content = "v2";
        await cache.ReloadAsync();
        return (factory, cache, v1);
    }

    [Fact]
    public async Task Artifact_RollbackLoadsThePreviousBytesAgain()
    {
        (CacheFactory factory, ModelCache<FakeModel> cache, FakeModel v1) = await LoadTwoVersions(ModelRollbackRetention.Artifact);
        await using ModelCache<FakeModel> owned = cache;
        Assert.True(v1.IsDisposed);

        await cache.RollbackAsync();

        FakeModel serving = cache.GetModel();
        Assert.Equal("v1", serving.Content);
        Assert.NotSame(v1, serving);
        Assert.Equal(3, factory.Loader.Loads);
        Assert.Equal(ModelLoadReason.Rollback, cache.GetHistory()[^1].Reason);
    }

    [Fact]
    public async Task Generation_KeepsThePreviousModelLoaded_AndRollbackSwapsItBackWithoutALoad()
    {
        (CacheFactory factory, ModelCache<FakeModel> cache, FakeModel v1) = await LoadTwoVersions(ModelRollbackRetention.Generation);
        await using ModelCache<FakeModel> owned = cache;
        FakeModel v2 = cache.GetModel();
        Assert.False(v1.IsDisposed);

        ModelVersion restored = await cache.RollbackAsync();

        Assert.Same(v1, cache.GetModel());
        Assert.Equal(1, restored.Generation);
        Assert.Equal(2, factory.Loader.Loads);
        Assert.Equal(1, v2.DisposeCount);
        Assert.Equal(ModelLoadReason.Rollback, cache.GetHistory()[^1].Reason);
        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.RollbackAsync());
    }

    [Fact]
    public async Task Generation_KeepsOnlyOnePreviousModel()
    {
        (CacheFactory factory, ModelCache<FakeModel> cache, FakeModel v1) = await LoadTwoVersions(ModelRollbackRetention.Generation);
        await using ModelCache<FakeModel> owned = cache;
        FakeModel v2 = cache.GetModel();

        factory.Source.Content = "v3";
        await cache.ReloadAsync();

        Assert.Equal(1, v1.DisposeCount);
        Assert.False(v2.IsDisposed);
        await cache.RollbackAsync();
        Assert.Same(v2, cache.GetModel());
    }

    [Fact]
    public async Task Generation_TheKeptModelIsDisposedWithTheCache_AndOnUnload()
    {
        (_, ModelCache<FakeModel> cache, FakeModel v1) = await LoadTwoVersions(ModelRollbackRetention.Generation);
        FakeModel v2 = cache.GetModel();

        cache.Invalidate();
        Assert.Equal(1, v1.DisposeCount);
        Assert.Equal(1, v2.DisposeCount);

        (_, ModelCache<FakeModel> other, FakeModel w1) = await LoadTwoVersions(ModelRollbackRetention.Generation);
        await other.DisposeAsync();
        Assert.Equal(1, w1.DisposeCount);
        await cache.DisposeAsync();
    }

    [Fact]
    public async Task None_KeepsNothing_AndRollbackSaysWhy()
    {
        (_, ModelCache<FakeModel> cache, FakeModel v1) = await LoadTwoVersions(ModelRollbackRetention.None);
        await using ModelCache<FakeModel> owned = cache;
        Assert.True(v1.IsDisposed);

        InvalidOperationException error = await Assert.ThrowsAsync<InvalidOperationException>(() => cache.RollbackAsync());

        Assert.Contains("'ranker'", error.Message);
        Assert.Contains("None", error.Message);
    }

    [Fact]
    public void Generation_WithUnloadFirst_IsAConfigurationError()
    {
        var options = new ModelOptions<FakeModel> { RollbackRetention = ModelRollbackRetention.Generation, SwapMode = ModelSwapMode.UnloadFirst };

        string problem = Assert.Single(((ModelOptions)options).Validate("ranker"));

        Assert.StartsWith("Model 'ranker': RollbackRetention", problem);
    }
}
