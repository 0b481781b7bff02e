using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Loading;

/// <summary>
/// <see cref="ModelOptions.LoadTimeout"/> bounds every step of a load, including synchronous code that ignores its
/// token: the cache leaves Loading with a <see cref="TimeoutException"/> cause, the next attempt is possible, and
/// disposal completes whatever the step does.
/// </summary>
[Collection(nameof(AbandonedThreadTests))]
public sealed class LoadTimeoutTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Validator_ThatBlocksAndIgnoresItsToken_TimesOutAndTheCacheLeavesLoading()
    {
        var factory = new CacheFactory();
        using var release = new ManualResetEventSlim();
        int calls = 0;
        await using ModelCache<FakeModel> cache = factory.Create(o =>
        {
            o.LoadTimeout = Timeout;
            o.Validators.Add((_, _) =>
            {
                if (Interlocked.Increment(ref calls) == 1)
                {
                    release.Wait(); // blocks, ignoring the token
                }

                return ValueTask.CompletedTask;
            });
        }, name: "hung-validator");

        ValueTask<FakeModel> call = cache.GetModelAsync();
        await Eventually.TrueAsync(() => Volatile.Read(ref calls) == 1, "the validator to start");
        factory.Time.Advance(Timeout + TimeSpan.FromSeconds(1));

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(async () => await call);
        Assert.Equal("hung-validator", error.ModelName);
        Assert.IsType<TimeoutException>(error.InnerException);
        Assert.Contains("validating", error.Message);
        Assert.Equal(ModelCacheState.Failed, cache.State);
        Assert.True(cache.GetStatistics().AbandonedLoadRunning);

        // The step ends after all: its model is disposed, and the next attempt loads.
        release.Set();
        await Eventually.TrueAsync(() => !cache.GetStatistics().AbandonedLoadRunning, "the abandoned attempt to end");
        Assert.True(factory.Loader.Created[0].IsDisposed);
        factory.Time.Advance(TimeSpan.FromMinutes(1)); // past the failure cool-down
        FakeModel model = await cache.GetModelAsync();
        Assert.Equal("v1", model.Content);
        Assert.Equal(ModelCacheState.Ready, cache.State);
    }

    [Fact]
    public async Task WarmUp_ThatBlocksAndIgnoresItsToken_TimesOutAndKeepsTheLastGoodModel()
    {
        var factory = new CacheFactory();
        using var release = new ManualResetEventSlim();
        int calls = 0;
        await using ModelCache<FakeModel> cache = factory.Create(o =>
        {
            o.LoadTimeout = Timeout;
            o.WarmUps.Add((model, _) =>
            {
                if (model.Content == "v2")
                {
                    Interlocked.Increment(ref calls);
                    release.Wait();
                }

                return ValueTask.CompletedTask;
            });
        }, name: "hung-warm-up");
        Assert.Equal("v1", (await cache.GetModelAsync()).Content);

        factory.Source.Content = "v2";
        Task<ModelVersion> reload = cache.ReloadAsync();
        await Eventually.TrueAsync(() => Volatile.Read(ref calls) == 1, "the warm-up to start");
        factory.Time.Advance(Timeout + TimeSpan.FromSeconds(1));

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(() => reload);
        Assert.IsType<TimeoutException>(error.InnerException);
        Assert.Contains("warming up", error.Message);
        Assert.Equal(ModelCacheState.Degraded, cache.State);
        Assert.Equal("v1", cache.GetModel().Content);
        release.Set();
    }

    [Fact]
    public async Task SourceFetch_ThatBlocksSynchronously_TimesOut_AndDisposeAsyncStillCompletes()
    {
        var time = new FakeTimeProvider();
        using var release = new ManualResetEventSlim();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var source = new DelegateModelSource(
            (_, _) =>
            {
                entered.TrySetResult();
                release.Wait(); // the synchronous part of FetchAsync hangs: no Task ever comes back
                return ValueTask.FromResult<ModelArtifact?>(new ModelArtifact("v1"u8.ToArray(), "hung"));
            },
            "hung-mount");
        var cache = new ModelCache<FakeModel>("hung-source", new ModelOptions<FakeModel> { Source = source, Loader = new FakeLoader(), LoadTimeout = Timeout }, time);

        ValueTask<FakeModel> call = cache.GetModelAsync();
        await entered.Task.WaitAsync(Eventually.Timeout);
        time.Advance(Timeout + TimeSpan.FromSeconds(1));

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(async () => await call);
        Assert.IsType<TimeoutException>(error.InnerException);
        Assert.Contains("fetching", error.Message);
        Assert.Equal(ModelCacheState.Failed, cache.State);

        // A later explicit reload does not queue behind the hung attempt: it is answered at once.
        ModelLoadException refused = await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync().WaitAsync(Eventually.Timeout));
        Assert.Contains("has not ended yet", refused.Message);

        Task disposal = cache.DisposeAsync().AsTask();
        Assert.Same(disposal, await Task.WhenAny(disposal, Task.Delay(Eventually.Timeout)));
        release.Set();
    }

    [Fact]
    public async Task DisposeAsync_WhileALoadHangsInTheLoader_CompletesAndFailsTheWaiter()
    {
        var factory = new CacheFactory();
        using var release = new ManualResetEventSlim();
        factory.Loader.BeforeLoad = _ =>
        {
            release.Wait();
            return Task.CompletedTask;
        };
        ModelCache<FakeModel> cache = factory.Create(o => o.LoadTimeout = System.Threading.Timeout.InfiniteTimeSpan);
        ValueTask<FakeModel> call = cache.GetModelAsync();
        await Eventually.TrueAsync(() => factory.Loader.Loads == 1, "the loader to start");

        Task disposal = cache.DisposeAsync().AsTask();

        Assert.Same(disposal, await Task.WhenAny(disposal, Task.Delay(Eventually.Timeout)));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await call);
        release.Set();
        await Eventually.TrueAsync(() => factory.Loader.Created.Count == 1 && factory.Loader.Created[0].IsDisposed, "the late model to be disposed, never served");
    }

    [Fact]
    public void GetModel_OnARealClock_WithALoaderThatNeverReturns_ThrowsTheTimeoutWithinBoundedTime()
    {
        using var release = new ManualResetEventSlim();
        using var cache = new ModelCache<FakeModel>("never-returns", new ModelOptions<FakeModel>
        {
            Source = new MutableSource("v1"),
            Loader = new DelegateModelLoader<FakeModel>((_, _) =>
            {
                release.Wait();
                return ValueTask.FromResult(new FakeModel("late"));
            }),
            LoadTimeout = TimeSpan.FromMilliseconds(300),
        });

        var watch = Stopwatch.StartNew();
        ModelLoadException error = Assert.Throws<ModelLoadException>(() => cache.GetModel());
        watch.Stop();

        Assert.IsType<TimeoutException>(error.InnerException);
        Assert.True(watch.Elapsed < Eventually.Timeout, $"GetModel() took {watch.Elapsed}");
        release.Set();
    }

    [Fact]
    public async Task LoaderThatHangsForever_DoesNotStartAnotherAttemptPerRetry()
    {
        var factory = new CacheFactory();
        using var release = new ManualResetEventSlim();
        int started = 0;
        factory.Loader.BeforeLoad = _ =>
        {
            if (Interlocked.Increment(ref started) == 1)
            {
                release.Wait(); // the first attempt blocks its thread and ignores cancellation
            }

            return Task.CompletedTask;
        };
        await using ModelCache<FakeModel> cache = factory.Create(o =>
        {
            o.LoadTimeout = Timeout;
            o.RetryBaseDelay = TimeSpan.FromSeconds(1);
            o.RetryMaxDelay = TimeSpan.FromSeconds(4);
        }, name: "stuck");

        _ = cache.GetModelAsync().AsTask();
        await Eventually.TrueAsync(() => Volatile.Read(ref started) == 1, "the first attempt to start");
        factory.Time.Advance(Timeout + TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(() => cache.State == ModelCacheState.Failed, "the attempt to time out");

        // Many retry periods pass: not one new attempt (and thread) while the first is still blocked.
        for (int i = 0; i < 20; i++)
        {
            factory.Time.Advance(TimeSpan.FromSeconds(5));
        }

        Assert.Equal(1, Volatile.Read(ref started));
        ModelCacheStatistics statistics = cache.GetStatistics();
        Assert.True(statistics.AbandonedLoadRunning);
        Assert.Contains("has not ended yet", statistics.LastError);

        // When it ends, the retry that waited for it runs, and the model loads.
        release.Set();
        await Eventually.TrueAsync(() => cache.State == ModelCacheState.Ready, "the retry after the abandoned attempt ended");
        Assert.Equal(2, Volatile.Read(ref started));
    }

    [Fact]
    public async Task SizeEstimator_ThatBlocks_IsBoundedByTheLoadTimeout_AndItsModelIsNeverServed()
    {
        var factory = new CacheFactory();
        using var release = new ManualResetEventSlim();
        int calls = 0;
        await using ModelCache<FakeModel> cache = factory.Create(o =>
        {
            o.LoadTimeout = Timeout;
            o.SizeEstimator = (_, artifact) =>
            {
                Interlocked.Increment(ref calls);
                release.Wait(); // a user callback that ignores any timeout
                return artifact?.Length ?? 0;
            };
        }, name: "hung-estimate");

        ValueTask<FakeModel> call = cache.GetModelAsync();
        await Eventually.TrueAsync(() => Volatile.Read(ref calls) == 1, "the estimator to start");
        factory.Time.Advance(Timeout + TimeSpan.FromSeconds(1));

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(async () => await call);
        Assert.IsType<TimeoutException>(error.InnerException);
        Assert.Contains("estimating its size", error.Message);
        Assert.Equal(ModelCacheState.Failed, cache.State);

        release.Set();
        await Eventually.TrueAsync(() => factory.Loader.Created.Count == 1 && factory.Loader.Created[0].IsDisposed, "the late model to be disposed, never served");
    }
}
