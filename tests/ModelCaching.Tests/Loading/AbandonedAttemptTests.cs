using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Diagnostics;
using ModelCaching.Loading;
using ModelCaching.Tests.Support;
using ModelCaching.Tests.Templates;

namespace ModelCaching.Tests.Loading;

/// <summary>
/// A load step that ignores its token and hangs costs a thread, nothing else: at the load timeout its attempt gives back
/// its memory reservation and its load slot, so other models keep loading; at most one abandoned attempt per model.
/// Hung steps block on an event the test releases at its end.
/// </summary>
[Collection(nameof(AbandonedThreadTests))]
public sealed class AbandonedAttemptTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30); // a bound for a loaded CI machine, not a wait

    private readonly TenantFiles _files = new();
    private readonly ManualResetEventSlim _release = new();
    private readonly ConcurrentQueue<FakeModel> _created = new();
    private int _hung;

    public void Dispose()
    {
        _release.Set();
        _release.Dispose();
        _files.Dispose();
    }

    [Fact]
    public async Task AHungLoad_GivesBackItsMemoryReservationAtTheTimeout_SoAnotherModelLoadsAtOnce()
    {
        _files.Write("a", bytes: 60);
        _files.Write("b", bytes: 60);
        await using ServiceProvider services = _files.Services(
            template: t => t.FromFile(_files.PathTemplate)
                .UseLoader((artifact, _) =>
                {
                    string text = Encoding.UTF8.GetString(artifact.Content.Span);
                    if (text.StartsWith('a'))
                    {
                        Hang();
                    }

                    var model = new FakeModel(text);
                    _created.Enqueue(model);
                    return ValueTask.FromResult(model);
                })
                .Configure(o => o.LoadTimeout = Timeout),
            templateOptions: o => o.MemoryBudgetBytes = 100,
            fromFiles: false).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();

        Task<FakeModel> aCall = provider.GetCache<FakeModel>("a").GetModelAsync().AsTask();
        await Eventually.TrueAsync(() => Volatile.Read(ref _hung) == 1, "a's loader to start");
        Assert.Equal(60, Budget(provider).ReservedBytes);

        _files.Time.Advance(Timeout);

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(() => aCall.WaitAsync(Bound));
        Assert.IsType<TimeoutException>(error.InnerException);
        Assert.Equal(0, Budget(provider).ReservedBytes);

        // b needs the memory a reserved: it loads now, with no time passing.
        FakeModel b = await provider.GetCache<FakeModel>("b").GetModelAsync().AsTask().WaitAsync(Bound);
        Assert.StartsWith("b", b.Content, StringComparison.Ordinal);
        Assert.Equal(60, Budget(provider).ResidentBytes);

        // a's loader returns at last: its model is disposed, never served, never charged, and nothing is given back twice.
        _release.Set();
        await Eventually.TrueAsync(() => _created.Any(m => m.Content.StartsWith('a') && m.IsDisposed), "a's late model to be disposed");
        ModelMemoryBudgetStatus budget = Budget(provider);
        Assert.Equal(60, budget.ResidentBytes);
        Assert.Equal(0, budget.ReservedBytes);
        Assert.Equal(0, budget.DrainingBytes);
        Assert.False(b.IsDisposed);
    }

    [Fact]
    public async Task TwoHungValidators_GiveBackBothLoadSlotsAtTheTimeout_SoAThirdModelLoads()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        IModelCacheBuilder builder = services.AddModelCache(o => o.MaxConcurrentLoads = 2);
        foreach (string name in (string[])["hung1", "hung2"])
        {
            builder.AddModel<FakeModel>(name, m => m
                .FromSource(new MutableSource(name))
                .UseLoader(new FakeLoader())
                .Validate((_, _) =>
                {
                    Hang(); // a validator that never returns (until the test ends) and ignores its token
                    return ValueTask.CompletedTask;
                })
                .Configure(o => o.LoadTimeout = Timeout));
        }

        builder.AddModel<FakeModel>("third", m => m.FromSource(new MutableSource("third")).UseLoader(new FakeLoader()).Configure(o => o.LoadTimeout = Timeout));
        await using ServiceProvider provider = services.BuildServiceProvider();
        ModelLoadLimiter limiter = ((ModelCacheProvider)provider.GetRequiredService<IModelCacheProvider>()).LoadLimiter;
        IModelCache<FakeModel> hung1 = provider.GetRequiredKeyedService<IModelCache<FakeModel>>("hung1");
        IModelCache<FakeModel> hung2 = provider.GetRequiredKeyedService<IModelCache<FakeModel>>("hung2");
        IModelCache<FakeModel> third = provider.GetRequiredKeyedService<IModelCache<FakeModel>>("third");

        Task<FakeModel>[] hungCalls = [hung1.GetModelAsync().AsTask(), hung2.GetModelAsync().AsTask()];
        await Eventually.TrueAsync(() => Volatile.Read(ref _hung) == 2, "both validators to start");
        Assert.Equal(2, limiter.Running);

        time.Advance(Timeout);

        foreach (Task<FakeModel> call in hungCalls)
        {
            ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(() => call.WaitAsync(Bound));
            Assert.Contains("validating", error.Message, StringComparison.Ordinal);
        }

        Assert.Equal(0, limiter.Running);
        Assert.Equal("third", (await third.GetModelAsync().AsTask().WaitAsync(Bound)).Content);

        // The bound on threads stays: a hung model gets no second thread while its first one still runs.
        ModelLoadException again = await Assert.ThrowsAsync<ModelLoadException>(() => hung1.ReloadAsync());
        Assert.Contains("has not ended yet", again.Message, StringComparison.Ordinal);
        Assert.Equal(2, Volatile.Read(ref _hung));
        Assert.True(hung1.GetStatistics().AbandonedLoadRunning);

        // When the hung threads end, they give nothing back twice; the reload asked for meanwhile runs then.
        _release.Set();
        await Eventually.TrueAsync(() => hung1.State == ModelCacheState.Ready && !hung2.GetStatistics().AbandonedLoadRunning, "the hung threads to end and hung1's reload to run");
        await Eventually.TrueAsync(() => limiter.Running == 0, "hung1's reload to give back its slot");
        Assert.Equal(0, limiter.Running);
    }

    [Fact]
    public async Task AtTheCapOfAbandonedThreads_ANewAttemptFailsFast_NamingTheModelAndTheCap_AndLoadsOnceAThreadEnds()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
        var abandonedThreads = new AbandonedLoadThreads(limit: 1);
        var limiter = new ModelLoadLimiter(4, queueTimeout: null, abandonedThreads);
        int hungCalls = 0;
        var hungOptions = new ModelOptions<FakeModel> { Source = new MutableSource("hung"), Loader = new FakeLoader(), LoadTimeout = Timeout };
        hungOptions.Validators.Add((_, _) =>
        {
            if (Interlocked.Increment(ref hungCalls) == 1)
            {
                Hang();
            }

            return ValueTask.CompletedTask;
        });
        var otherLoader = new FakeLoader();
        var otherOptions = new ModelOptions<FakeModel> { Source = new MutableSource("other"), Loader = otherLoader, LoadTimeout = Timeout };
        await using var hung = new ModelCache<FakeModel>("hung", hungOptions, time, NullLoggerFactory.Instance, ModelCacheMetrics.Shared, limiter);
        await using var other = new ModelCache<FakeModel>("other", otherOptions, time, NullLoggerFactory.Instance, ModelCacheMetrics.Shared, limiter);

        ValueTask<FakeModel> hungCall = hung.GetModelAsync();
        await Eventually.TrueAsync(() => Volatile.Read(ref _hung) == 1, "the hung validator to start");
        time.Advance(Timeout);
        await Assert.ThrowsAsync<ModelLoadException>(async () => await hungCall);
        Assert.Equal(1, abandonedThreads.Count);

        ModelLoadException refused = await Assert.ThrowsAsync<ModelLoadException>(async () => await other.GetModelAsync());

        Assert.Equal("other", refused.ModelName);
        Assert.Contains("Model 'other' could not be loaded", refused.Message, StringComparison.Ordinal);
        Assert.Contains("1 abandoned load attempts", refused.Message, StringComparison.Ordinal);
        Assert.Contains("the cap of 1", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, otherLoader.Loads);
        Assert.Equal(0, limiter.Running);
        Assert.Equal(ModelCacheState.Failed, other.State);

        // The hung thread ends: the next use after the cool-down loads (a refusal is not remembered against the content).
        _release.Set();
        await Eventually.TrueAsync(() => abandonedThreads.Count == 0, "the hung thread to end");
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("other", (await other.GetModelAsync().AsTask().WaitAsync(Bound)).Content);
        Assert.Equal(1, otherLoader.Loads);
    }

    private static ModelMemoryBudgetStatus Budget(IModelCacheProvider provider) => Assert.Single(provider.GetMemoryBudgets());

    private void Hang()
    {
        Interlocked.Increment(ref _hung);
        if (!_release.Wait(Bound))
        {
            throw new TimeoutException("the test never released the hung step");
        }
    }
}
