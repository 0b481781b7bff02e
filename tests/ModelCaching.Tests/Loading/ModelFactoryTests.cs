using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Loading;

/// <summary>A model built by an <see cref="IModelFactory{TModel}"/> instead of read by a source and a loader.</summary>
public sealed class ModelFactoryTests
{
    [Fact]
    public async Task FactoryBuiltModel_IsValidatedAndServed_WithTheGenerationNumberAsItsVersion()
    {
        int validations = 0;
        var factory = new CountingFactory();
        var options = new ModelOptions<FakeModel> { Factory = factory, DrainDelay = TimeSpan.Zero };
        options.Validators.Add((_, _) =>
        {
            validations++;
            return ValueTask.CompletedTask;
        });
        await using var cache = new ModelCache<FakeModel>("built", options, new FakeTimeProvider());

        FakeModel model = await cache.GetModelAsync();

        Assert.Equal("built-1", model.Content);
        Assert.Equal("g1", cache.Version!.Id);
        Assert.Equal("factory:test", cache.SourceDescription);
        Assert.Equal(1, validations);
        Assert.Null(cache.Version.ETag);
    }

    [Fact]
    public async Task FactoryThatHandsBackTheServingInstance_IsUnchanged_NotValidatedAgainOrDisposed()
    {
        var factory = new CountingFactory { ReturnSame = true };
        int validations = 0;
        var options = new ModelOptions<FakeModel> { Factory = factory, DrainDelay = TimeSpan.Zero };
        options.Validators.Add((_, _) =>
        {
            validations++;
            return ValueTask.CompletedTask;
        });
        await using var cache = new ModelCache<FakeModel>("same", options, new FakeTimeProvider());
        FakeModel first = await cache.GetModelAsync();

        ModelVersion version = await cache.ReloadAsync();

        Assert.Equal(1, version.Generation);
        Assert.Same(first, cache.GetModel());
        Assert.False(first.IsDisposed);
        Assert.Equal(1, validations);
        Assert.Equal(ModelLoadOutcome.Unchanged, cache.GetHistory()[^1].Outcome);
    }

    [Fact]
    public async Task FactoryChangeToken_ReloadsAndDisposesTheReplacedModel()
    {
        var factory = new CountingFactory();
        await using var cache = new ModelCache<FakeModel>("watched", new ModelOptions<FakeModel> { Factory = factory, DrainDelay = TimeSpan.Zero }, new FakeTimeProvider());
        FakeModel first = await cache.GetModelAsync();
        Task<ModelReloadedEventArgs> reloaded = Eventually.NextReload(cache);

        factory.Change();

        ModelReloadedEventArgs args = await reloaded;
        Assert.Equal("g2", args.Current.Id);
        Assert.Equal("built-2", cache.GetModel().Content);
        Assert.True(first.IsDisposed);
    }

    [Fact]
    public async Task FactoryThatThrows_KeepsTheLastGoodModel_AndNamesTheFactory()
    {
        var factory = new CountingFactory();
        await using var cache = new ModelCache<FakeModel>("flaky", new ModelOptions<FakeModel> { Factory = factory }, new FakeTimeProvider());
        await cache.GetModelAsync();
        factory.FailWith = new InvalidOperationException("training data missing");

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());

        Assert.Contains("factory:test", error.Message);
        Assert.Contains("training data missing", error.Message);
        Assert.Equal(ModelCacheState.Degraded, cache.State);
        Assert.Equal("built-1", cache.GetModel().Content);
    }

    [Theory]
    [InlineData("source", "a factory builds the model itself; keep one of them")]
    [InlineData("loader", "a factory builds the model itself; remove UseLoader")]
    [InlineData("unload-first", "UnloadFirst needs the previous version's bytes")]
    public void FactoryWithASourceALoaderOrUnloadFirst_FailsValidation_NamingTheModel(string extra, string message)
    {
        var options = new ModelOptions<FakeModel> { Factory = new CountingFactory() };
        switch (extra)
        {
            case "source":
                options.Source = new MutableSource("v1");
                break;
            case "loader":
                options.Loader = new FakeLoader();
                break;
            default:
                options.SwapMode = ModelSwapMode.UnloadFirst;
                break;
        }

        ArgumentException error = Assert.Throws<ArgumentException>(() => new ModelCache<FakeModel>("mixed", options));

        Assert.Contains("Model 'mixed'", error.Message);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public async Task FromFactory_RegistersAFactoryNotAFakeSource()
    {
        var services = new ServiceCollection();
        services.AddModelCache().AddModel<FakeModel>("registered", m => m.FromFactory(_ => ValueTask.FromResult(new FakeModel("from-factory")), "in-process training"));
        await using ServiceProvider provider = services.BuildServiceProvider();
        IModelCache<FakeModel> cache = provider.GetRequiredKeyedService<IModelCache<FakeModel>>("registered");

        Assert.Equal("from-factory", (await cache.GetModelAsync()).Content);
        Assert.Equal("in-process training", cache.SourceDescription);
        Assert.Equal("g1", cache.Version!.Id);
    }

    private sealed class CountingFactory : IModelFactory<FakeModel>
    {
        private CancellationTokenSource _changes = new();
        private int _builds;
        private FakeModel? _last;

        public bool ReturnSame { get; init; }

        public Exception? FailWith { get; set; }

        public string Description => "factory:test";

        public ValueTask<FakeModel> CreateAsync(CancellationToken cancellationToken)
        {
            if (FailWith is { } failure)
            {
                throw failure;
            }

            if (ReturnSame && _last is { } same)
            {
                return ValueTask.FromResult(same);
            }

            _last = new FakeModel($"built-{Interlocked.Increment(ref _builds)}");
            return ValueTask.FromResult(_last);
        }

        public IChangeToken? GetChangeToken() => new CancellationChangeToken(_changes.Token);

        public void Change()
        {
            CancellationTokenSource old = _changes;
            _changes = new CancellationTokenSource();
            old.Cancel();
        }
    }
}
