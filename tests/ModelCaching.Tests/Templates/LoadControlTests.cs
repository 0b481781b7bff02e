using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Templates;

/// <summary>Loads of many models under control: one model's slow load blocks nobody else; queued loads time out in order.</summary>
public sealed class LoadControlTests : IDisposable
{
    private readonly TenantFiles _files = new();
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Set when the model named "slow" starts loading; its loader hangs until the test releases it.
    private bool _slowLoading;

    public void Dispose()
    {
        _release.TrySetResult();
        _files.Dispose();
    }

    private ServiceProvider Build(int maxConcurrentLoads, TimeSpan? queueTimeout = null)
    {
        ServiceCollection services = _files.Services(
            cache: o =>
            {
                o.MaxConcurrentLoads = maxConcurrentLoads;
                o.LoadQueueTimeout = queueTimeout ?? o.LoadQueueTimeout;
            },
            template: t => t.FromFactory((name, cancellationToken) => LoadAsync(name, cancellationToken)),
            fromFiles: false);
        return services.BuildServiceProvider();
    }

    private async ValueTask<FakeModel> LoadAsync(string name, CancellationToken cancellationToken)
    {
        if (name == "slow")
        {
            Volatile.Write(ref _slowLoading, true);
            await _release.Task.WaitAsync(cancellationToken);
        }

        return new FakeModel(name);
    }

    [Fact]
    public async Task ASlowLoadOfOneModel_DelaysNeitherHitsNorLoadsOfOthers()
    {
        await using ServiceProvider services = Build(maxConcurrentLoads: 2);
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        IModelCache<FakeModel> fast = provider.GetCache<FakeModel>("fast");
        fast.GetModel();

        Task<FakeModel> slow = provider.GetCache<FakeModel>("slow").GetModelAsync().AsTask();
        await Eventually.TrueAsync(() => Volatile.Read(ref _slowLoading), "the slow load started");

        // Hits on a loaded model and a load of another model, all on this thread, while the slow load hangs.
        for (int i = 0; i < 100_000; i++)
        {
            Assert.Equal("fast", fast.GetModel().Content);
        }

        Assert.Equal("other", provider.GetCache<FakeModel>("other").GetModel().Content);
        Assert.Equal("fast", provider.GetCache<FakeModel>("fast").GetModel().Content);
        Assert.False(slow.IsCompleted);
        Assert.Equal(ModelCacheState.Loading, provider.GetCache("slow").State);

        _release.SetResult();
        Assert.Equal("slow", (await slow.WaitAsync(TimeSpan.FromSeconds(30))).Content);
    }

    [Fact]
    public async Task ALoadQueuedBehindEverySlot_FailsAfterTheQueueTimeout_SayingWhatItWaitedFor()
    {
        await using ServiceProvider services = Build(maxConcurrentLoads: 1, queueTimeout: TimeSpan.FromSeconds(10));
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        Task<FakeModel> slow = provider.GetCache<FakeModel>("slow").GetModelAsync().AsTask();
        await Eventually.TrueAsync(() => Volatile.Read(ref _slowLoading), "the slow load holds the only slot");

        Task<FakeModel> queued = provider.GetCache<FakeModel>("queued").GetModelAsync().AsTask();
        _files.Time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(queued.IsCompleted);
        _files.Time.Advance(TimeSpan.FromSeconds(1));

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => queued.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("queued", error.ModelName);
        Assert.Contains("never started", error.Message, StringComparison.Ordinal);
        Assert.Contains("waited 00:00:10 for one of the load slots", error.Message, StringComparison.Ordinal);
        Assert.IsType<TimeoutException>(error.InnerException);

        _release.SetResult();
        Assert.Equal("slow", (await slow.WaitAsync(TimeSpan.FromSeconds(30))).Content);
    }

    [Fact]
    public async Task QueuedLoads_StartInTheOrderTheyWereAskedFor()
    {
        await using ServiceProvider services = Build(maxConcurrentLoads: 1);
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        var started = new List<string>();
        foreach (string name in (string[])["q1", "q2", "q3", "q4"])
        {
            provider.GetCache(name).Reloaded += (_, e) =>
            {
                lock (started)
                {
                    started.Add(e.ModelName);
                }
            };
        }

        Task<FakeModel> slow = provider.GetCache<FakeModel>("slow").GetModelAsync().AsTask();
        await Eventually.TrueAsync(() => Volatile.Read(ref _slowLoading), "the slow load holds the only slot");
        Task<FakeModel>[] queued = [.. ((string[])["q1", "q2", "q3", "q4"]).Select(name => provider.GetCache<FakeModel>(name).GetModelAsync().AsTask())];

        _release.SetResult();
        await Task.WhenAll(queued).WaitAsync(TimeSpan.FromSeconds(30));
        await slow;

        Assert.Equal(["q1", "q2", "q3", "q4"], started);
    }
}
