using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Tests.Support;
using ModelCaching.Tests.Templates;

namespace ModelCaching.Tests.Attacks;

/// <summary>
/// Pinned models filling the budget, leases held across eviction and provider disposal, default leases, Degraded models
/// reloading (attacks on issue 17's fixes).
/// </summary>
public sealed class LeaseAndPinAttackTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private readonly TenantFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static ModelMemoryBudgetStatus Budget(IModelCacheProvider provider) => Assert.Single(provider.GetMemoryBudgets());

    [Fact]
    public async Task ALoadUnderABudgetFullOfPinnedModels_FailsWithinItsTimeoutNamingTheMemory_AndLoadsOnceOneIsInvalidated()
    {
        foreach (string name in (string[])["a", "b", "c"])
        {
            _files.Write(name, bytes: 100);
        }

        await using ServiceProvider services = _files.Services(
            template: t => t.Configure(o =>
            {
                o.Pinned = true;
                o.LoadTimeout = TimeSpan.FromSeconds(5);
            }),
            templateOptions: o => o.MemoryBudgetBytes = 200).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        provider.GetCache<FakeModel>("a").GetModel();
        provider.GetCache<FakeModel>("b").GetModel();

        Task<FakeModel> c = provider.GetCache<FakeModel>("c").GetModelAsync().AsTask();
        await Eventually.TrueAsync(() => Budget(provider).WaitingLoads == 1 || c.IsCompleted, "c waits for memory or fails");
        _files.Time.Advance(TimeSpan.FromSeconds(5));
        var error = await Assert.ThrowsAsync<ModelLoadException>(() => c.WaitAsync(Bound));
        Assert.Contains("memory", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(ModelCacheState.Ready, provider.GetCache("a").State);
        Assert.Equal(ModelCacheState.Ready, provider.GetCache("b").State);

        provider.GetCache("a").Invalidate();
        _files.Time.Advance(TimeSpan.FromMinutes(5));
        FakeModel loaded = await provider.GetCache<FakeModel>("c").GetModelAsync().AsTask().WaitAsync(Bound);
        Assert.StartsWith("c", loaded.Content, StringComparison.Ordinal);
        Assert.True(Budget(provider).UsedBytes <= 200, $"{Budget(provider).UsedBytes} of 200 bytes");
    }

    [Fact]
    public async Task ALeaseHeldAcrossEvictionAndProviderDisposal_KeepsItsModelUndisposed_UntilItEnds_ThenDisposesItOnce()
    {
        foreach (string name in (string[])["a", "b"])
        {
            _files.Write(name, bytes: 100);
        }

        ServiceProvider services = _files.Services(
            template: t => t.Configure(o => o.EvictionDrainDelay = TimeSpan.Zero),
            templateOptions: o => o.MemoryBudgetBytes = 100).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        ModelLease<FakeModel> lease = provider.GetCache<FakeModel>("a").Acquire();
        ModelLease<FakeModel> copy = lease;
        FakeModel model = lease.Model;

        // b needs a's room: a is evicted while leased; b waits for a's bytes (they stay while the lease does).
        Task<FakeModel> b = provider.GetCache<FakeModel>("b").GetModelAsync().AsTask();
        await Eventually.TrueAsync(() => provider.GetCache("a").State == ModelCacheState.Evicted || b.IsCompleted, "a to be evicted");
        Assert.False(lease.Model.IsDisposed);
        Assert.Equal("a", lease.Model.Predict()[..1]);

        await services.DisposeAsync();
        Assert.False(lease.Model.IsDisposed);
        await Assert.ThrowsAnyAsync<Exception>(() => b.WaitAsync(Bound));

        var threads = new[] { new Thread(() => lease.Dispose()), new Thread(() => copy.Dispose()) };
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(Bound));
        }

        Assert.Equal(1, model.DisposeCount);
        lease.Dispose();
        Assert.Equal(1, model.DisposeCount);
    }

    [Fact]
    public async Task ALeaseUsedAfterItsDispose_ThrowsObjectDisposed_InsteadOfHandingOutAModelItNoLongerPins()
    {
        _files.Write("a", bytes: 100);
        await using ServiceProvider services = _files.Services(templateOptions: o => o.MemoryBudgetBytes = 1_000).BuildServiceProvider();
        IModelCache<FakeModel> cache = services.GetRequiredService<IModelCacheProvider>().GetCache<FakeModel>("a");
        ModelLease<FakeModel> lease = cache.Acquire();
        ModelLease<FakeModel> copy = lease;
        lease.Dispose();

        // The generation may be swapped out and disposed from now on (a reload, an eviction): the lease no longer pins it.
        Assert.Throws<ObjectDisposedException>(() => lease.Model);
        Assert.Throws<ObjectDisposedException>(() => copy.Model);
        Assert.Throws<ObjectDisposedException>(() => copy.Version);
        using ModelLease<FakeModel> next = cache.Acquire();
        Assert.Equal("a", next.Model.Content[..1]);
        Assert.Throws<ObjectDisposedException>(() => lease.Model);
    }

    [Fact]
    public void ADefaultLease_DisposesQuietly_AndSaysWhatItIsWhenUsed()
    {
        ModelLease<FakeModel> lease = default;

        lease.Dispose();
        lease.Dispose();

        var error = Assert.Throws<InvalidOperationException>(() => lease.Model);
        Assert.Contains("default", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADegradedModelInProbation_ReloadsWithGoodContent_AndTheBudgetStaysACap()
    {
        foreach (string name in (string[])["hot", "once", "x"])
        {
            _files.Write(name, bytes: 100);
        }

        await using ServiceProvider services = _files.Services(templateOptions: o => o.MemoryBudgetBytes = 250).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        for (int i = 0; i < 50; i++)
        {
            provider.GetCache<FakeModel>("hot").GetModel();
        }

        provider.GetCache<FakeModel>("once").GetModel();
        File.WriteAllText(Path.Combine(_files.Directory, "once.bin"), "bad once");
        await Assert.ThrowsAsync<ModelLoadException>(() => provider.GetCache<FakeModel>("once").ReloadAsync().WaitAsync(Bound));
        Assert.Equal(ModelCacheState.Degraded, provider.GetCache("once").State);

        File.WriteAllText(Path.Combine(_files.Directory, "once.bin"), "once v3".PadRight(100, '.'));
        _files.Time.Advance(TimeSpan.FromMinutes(5));
        await provider.GetCache<FakeModel>("once").ReloadAsync().WaitAsync(Bound);
        Assert.Equal(ModelCacheState.Ready, provider.GetCache("once").State);
        Assert.StartsWith("once v3", provider.GetCache<FakeModel>("once").GetModel().Content, StringComparison.Ordinal);
        Assert.True(Budget(provider).UsedBytes <= 250, $"{Budget(provider).UsedBytes} of 250 bytes");

        FakeModel x = await provider.GetCache<FakeModel>("x").GetModelAsync().AsTask().WaitAsync(Bound);
        Assert.StartsWith("x", x.Content, StringComparison.Ordinal);
        Assert.True(Budget(provider).UsedBytes <= 250, $"{Budget(provider).UsedBytes} of 250 bytes");
    }
}
