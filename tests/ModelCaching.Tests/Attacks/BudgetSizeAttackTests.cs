using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Tests.Support;
using ModelCaching.Tests.Templates;

namespace ModelCaching.Tests.Attacks;

/// <summary>
/// Sizes that lie to the memory budget (attacks on issue 17's fixes): estimates far above or below the truth, negative,
/// long.MaxValue beside kept rollback bytes, estimators that throw. The budget stays a cap and never jams.
/// </summary>
public sealed class BudgetSizeAttackTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private readonly TenantFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static ModelMemoryBudgetStatus Budget(IModelCacheProvider provider) => Assert.Single(provider.GetMemoryBudgets());

    [Fact]
    public async Task AModelMeasuredAtLongMaxValue_WhileItKeepsRollbackBytes_FailsAsTooLarge_InsteadOfServingUncharged()
    {
        foreach (string name in (string[])["huge", "a", "b"])
        {
            _files.Write(name, bytes: 10);
        }

        // Rollback bytes kept (Artifact retention): the charge is the model's size plus the bytes, which must not overflow.
        await using ServiceProvider services = _files.Services(
            template: t => t.Configure(o =>
            {
                o.RollbackRetention = ModelRollbackRetention.Artifact;
                o.SizeEstimator = static (model, _) => model.Content.StartsWith("huge", StringComparison.Ordinal) ? long.MaxValue : 40;
            }),
            templateOptions: o => o.MemoryBudgetBytes = 100).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => provider.GetCache<FakeModel>("huge").GetModelAsync().AsTask().WaitAsync(Bound));

        Assert.IsType<ModelBudgetException>(error.InnerException);
        Assert.Equal(0, Budget(provider).UsedBytes);
        foreach (string name in (string[])["a", "b"])
        {
            await provider.GetCache<FakeModel>(name).GetModelAsync().AsTask().WaitAsync(Bound);
            Assert.True(Budget(provider).UsedBytes <= 100, $"{name} loaded: {Budget(provider).UsedBytes} of 100 bytes");
        }
    }

    [Fact]
    public async Task AReloadMeasuredAtLongMaxValue_BesideThePreviousVersionsRollbackBytes_FailsAsTooLarge_AndTheOldModelServes()
    {
        _files.Write("a", bytes: 10);
        _files.Write("b", bytes: 10);
        await using ServiceProvider services = _files.Services(
            template: t => t.Configure(o =>
            {
                o.RollbackRetention = ModelRollbackRetention.Artifact;
                o.SizeEstimator = static (model, _) => model.Content.Contains("v2", StringComparison.Ordinal) ? long.MaxValue : 40;
            }),
            templateOptions: o => o.MemoryBudgetBytes = 1_000).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        await provider.GetCache<FakeModel>("a").GetModelAsync().AsTask().WaitAsync(Bound);

        File.WriteAllText(Path.Combine(_files.Directory, "a.bin"), "a v2......");
        var error = await Assert.ThrowsAsync<ModelLoadException>(() => provider.GetCache<FakeModel>("a").ReloadAsync().WaitAsync(Bound));

        Assert.IsType<ModelBudgetException>(error.InnerException);
        Assert.StartsWith("a.", provider.GetCache<FakeModel>("a").GetModel().Content, StringComparison.Ordinal);
        Assert.InRange(Budget(provider).UsedBytes, 40, 1_000);
    }

    [Fact]
    public async Task ANegativeSizeEstimate_NeverMakesTheBudgetsUsageNegative_AndOtherModelsStillFitTheCap()
    {
        foreach (string name in (string[])["neg", "a", "b", "c"])
        {
            _files.Write(name, bytes: 10);
        }

        await using ServiceProvider services = _files.Services(
            template: t => t.Configure(o =>
            {
                o.RollbackRetention = ModelRollbackRetention.Artifact;
                o.SizeEstimator = static (model, _) => model.Content.StartsWith("neg", StringComparison.Ordinal) ? -1_000 : 40;
            }),
            templateOptions: o => o.MemoryBudgetBytes = 100).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();

        await provider.GetCache<FakeModel>("neg").GetModelAsync().AsTask().WaitAsync(Bound);
        Assert.InRange(Budget(provider).UsedBytes, 0, 100);
        foreach (string name in (string[])["a", "b", "c"])
        {
            await provider.GetCache<FakeModel>(name).GetModelAsync().AsTask().WaitAsync(Bound);
            Assert.InRange(Budget(provider).UsedBytes, 0, 100);
        }

        // Reload of the negative one (its last size is negative: the next estimate must not be either).
        File.WriteAllText(Path.Combine(_files.Directory, "neg.bin"), "neg v2....");
        await provider.GetCache<FakeModel>("neg").ReloadAsync().WaitAsync(Bound);
        Assert.InRange(Budget(provider).UsedBytes, 0, 100);
    }

    [Fact]
    public async Task ASizeEstimatorThatThrowsOnce_FailsThatLoadOnly_AndTheNextCallLoadsTheSameContent()
    {
        _files.Write("a", bytes: 10);
        int calls = 0;
        await using ServiceProvider services = _files.Services(
            template: t => t.Configure(o =>
            {
                o.SizeEstimator = (_, _) => Interlocked.Increment(ref calls) == 1 ? throw new InvalidOperationException("estimator bug") : 40;
            }),
            templateOptions: o => o.MemoryBudgetBytes = 100).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();

        await Assert.ThrowsAsync<ModelLoadException>(() => provider.GetCache<FakeModel>("a").GetModelAsync().AsTask().WaitAsync(Bound));
        Assert.Equal(0, Budget(provider).UsedBytes);
        _files.Time.Advance(TimeSpan.FromMinutes(5));

        FakeModel model = await provider.GetCache<FakeModel>("a").GetModelAsync().AsTask().WaitAsync(Bound);
        Assert.StartsWith("a", model.Content, StringComparison.Ordinal);
        Assert.Equal(40, Budget(provider).UsedBytes);
    }
}
