using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Tests.Support;
using ModelCaching.Tests.Templates;

namespace ModelCaching.Tests.Budget;

/// <summary>A memory budget over template models: evicts by value, keeps pinned and hot models, waits for draining memory.</summary>
public sealed class MemoryBudgetTests : IDisposable
{
    private readonly TenantFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static ModelMemoryBudgetStatus Budget(IModelCacheProvider provider) => Assert.Single(provider.GetMemoryBudgets());

    [Fact]
    public async Task ALoadThatWouldGoOverTheBudget_EvictsTheLeastValuableModel()
    {
        foreach (string name in (string[])["a", "b", "c"])
        {
            _files.Write(name, bytes: 100);
        }

        await using ServiceProvider services = _files.Services(templateOptions: o => o.MemoryBudgetBytes = 250).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        IModelCache<FakeModel> a = provider.GetCache<FakeModel>("a");
        for (int i = 0; i < 50; i++)
        {
            a.GetModel();
        }

        FakeModel b = provider.GetCache<FakeModel>("b").GetModel();
        provider.GetCache<FakeModel>("c").GetModel();

        Assert.Equal(ModelCacheState.Ready, a.State);
        Assert.Equal(ModelCacheState.Evicted, provider.GetCache("b").State);
        Assert.Equal(ModelCacheState.Ready, provider.GetCache("c").State);
        Assert.Equal(1, b.DisposeCount);
        ModelMemoryBudgetStatus budget = Budget(provider);
        Assert.Equal(200, budget.UsedBytes);
        Assert.Equal(1, budget.Evictions);
    }

    [Fact]
    public async Task AnEvictedModel_LoadsAgainOnItsNextUse()
    {
        _files.Write("a", bytes: 100);
        _files.Write("b", bytes: 100);
        await using ServiceProvider services = _files.Services(templateOptions: o => o.MemoryBudgetBytes = 150).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        FakeModel first = provider.GetCache<FakeModel>("a").GetModel();
        for (int i = 0; i < 3; i++)
        {
            provider.GetCache<FakeModel>("b").GetModel();
            provider.GetCache<FakeModel>("b").Invalidate();
        }

        provider.GetCache<FakeModel>("b").GetModel();
        Assert.Equal(ModelCacheState.Evicted, provider.GetCache("a").State);

        FakeModel again = provider.GetCache<FakeModel>("a").GetModel();

        Assert.NotSame(first, again);
        Assert.Equal(1, first.DisposeCount);
        Assert.Equal(ModelCacheState.Ready, provider.GetCache("a").State);
    }

    [Fact]
    public async Task AOneHitWonder_LoadsInRoomTakenFromTheBudget_AsTheOverdraftModelThatGoesFirst()
    {
        foreach (string name in (string[])["hot1", "hot2", "once1", "once2"])
        {
            _files.Write(name, bytes: 100);
        }

        await using ServiceProvider services = _files.Services(templateOptions: o => o.MemoryBudgetBytes = 250).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        for (int i = 0; i < 50; i++)
        {
            provider.GetCache<FakeModel>("hot1").GetModel();
        }

        for (int i = 0; i < 40; i++)
        {
            provider.GetCache<FakeModel>("hot2").GetModel();
        }

        provider.GetCache<FakeModel>("once1").GetModel();

        // Not admitted over the hot models, but loaded within the budget: the lower-valued hot2 made room.
        Assert.Equal(ModelCacheState.Ready, provider.GetCache("hot1").State);
        Assert.Equal(ModelCacheState.Evicted, provider.GetCache("hot2").State);
        Assert.Equal(ModelCacheState.Ready, provider.GetCache("once1").State);
        Assert.Equal(200, Budget(provider).UsedBytes);

        provider.GetCache<FakeModel>("once2").GetModel();

        // The overdraft model goes first: hot1 stays.
        Assert.Equal(ModelCacheState.Evicted, provider.GetCache("once1").State);
        Assert.Equal(ModelCacheState.Ready, provider.GetCache("hot1").State);
        Assert.Equal(200, Budget(provider).UsedBytes);
    }

    [Fact]
    public async Task AModelLargerThanTheBudget_FailsNamingBothSizes_AndIsNotKept()
    {
        _files.Write("huge", bytes: 100);
        await using ServiceProvider services = _files.Services(templateOptions: o => o.MemoryBudgetBytes = 50).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();

        var error = Assert.Throws<ModelLoadException>(() => provider.GetCache<FakeModel>("huge").GetModel());

        Assert.Equal("huge", error.ModelName);
        Assert.Contains("needs 100 bytes, more than the whole memory budget of 50 bytes (tenants)", error.Message, StringComparison.Ordinal);
        Assert.IsType<ModelBudgetException>(error.InnerException);
        Assert.Equal(0, _files.Loader.Loads);
        Assert.DoesNotContain("huge", provider.Names);
        Assert.Equal(0, Budget(provider).UsedBytes);
    }

    [Fact]
    public async Task PinnedModels_AreNeverEvicted_ALoadWaitsForMemoryAndTimesOutSayingSo()
    {
        foreach (string name in (string[])["a", "b", "c"])
        {
            _files.Write(name, bytes: 100);
        }

        await using ServiceProvider services = _files.Services(template: t => t.Pin(), templateOptions: o => o.MemoryBudgetBytes = 250).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        provider.GetCache<FakeModel>("a").GetModel();
        provider.GetCache<FakeModel>("b").GetModel();

        Task<FakeModel> c = provider.GetCache<FakeModel>("c").GetModelAsync().AsTask();
        await Eventually.TrueAsync(() => Budget(provider).WaitingLoads == 1, "the load of c waits for memory");
        _files.Time.Advance(TimeSpan.FromMinutes(2));

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => c);
        Assert.Contains("while waiting for memory: 100 bytes wanted, 200 of 250 in use", error.Message, StringComparison.Ordinal);
        Assert.Equal(ModelCacheState.Ready, provider.GetCache("a").State);
        Assert.Equal(ModelCacheState.Ready, provider.GetCache("b").State);
        Assert.Equal(0, Budget(provider).Evictions);
    }

    [Fact]
    public async Task AnEvictedModelWithALiveLease_IsNotDisposedUnderItsCaller_ItsBytesDrainAndTheWaitingLoadGoesOnWhenTheLeaseEnds()
    {
        _files.Write("a", bytes: 100);
        _files.Write("b", bytes: 100);
        await using ServiceProvider services = _files.Services(template: t => t.Configure(o => o.TrackHits = false), templateOptions: o => o.MemoryBudgetBytes = 150).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        ModelLease<FakeModel> lease = provider.GetCache<FakeModel>("a").Acquire();

        Task<FakeModel> b = provider.GetCache<FakeModel>("b").GetModelAsync().AsTask();
        await Eventually.TrueAsync(() => Budget(provider).WaitingLoads == 1, "the load of b waits for a's memory");

        Assert.Equal(ModelCacheState.Evicted, provider.GetCache("a").State);
        Assert.False(lease.Model.IsDisposed);
        Assert.Equal("a", lease.Model.Predict()[..1]);
        Assert.Equal(100, Budget(provider).DrainingBytes);
        Assert.False(b.IsCompleted);

        FakeModel a = lease.Model;
        lease.Dispose();

        Assert.StartsWith("b", (await b.WaitAsync(TimeSpan.FromSeconds(30))).Content, StringComparison.Ordinal);
        Assert.Equal(1, a.DisposeCount);
        ModelMemoryBudgetStatus budget = Budget(provider);
        Assert.Equal(0, budget.DrainingBytes);
        Assert.Equal(100, budget.UsedBytes);
    }

    [Fact]
    public async Task AllocatedBytes_MeasuresWhatTheLoaderAllocated()
    {
        var services = new ServiceCollection();
        services.AddModelCache().AddModelTemplate<FakeModel>(
            "built",
            t => t.FromFactory((name, _) =>
            {
                byte[] weights = new byte[4 * 1024 * 1024];
                GC.KeepAlive(weights);
                return ValueTask.FromResult(new FakeModel(name));
            }).Configure(o => o.SizeMeasure = ModelSizeMeasure.AllocatedBytes));
        await using ServiceProvider provider = services.BuildServiceProvider();
        IModelCache<FakeModel> cache = provider.GetRequiredService<IModelCacheProvider>().GetCache<FakeModel>("m1");

        cache.GetModel();

        long size = cache.Version!.SizeBytes;
        Assert.InRange(size, 4 * 1024 * 1024, 5 * 1024 * 1024);
    }

    [Fact]
    public async Task TheProvidersBudget_CoversRegisteredModelsAndTemplatesWithoutABudgetOfTheirOwn()
    {
        _files.Write("t1", bytes: 100);
        var services = _files.Services(cache: o => o.MemoryBudgetBytes = 1000);
        services.AddModelCache().AddModel<FakeModel>("scorer", m => m.FromSource(new MutableSource(new string('s', 300))).UseLoader(new FakeLoader()).Configure(static o => o.RollbackRetention = ModelRollbackRetention.None));
        await using ServiceProvider provider = services.BuildServiceProvider();
        IModelCacheProvider models = provider.GetRequiredService<IModelCacheProvider>();

        models.GetCache<FakeModel>("scorer").GetModel();
        models.GetCache<FakeModel>("t1").GetModel();

        ModelMemoryBudgetStatus budget = Budget(models);
        Assert.Equal("provider", budget.Scope);
        Assert.Equal(400, budget.ResidentBytes);
    }

    [Fact]
    public async Task AnEvictedModelWithoutLeases_DrainsForTheEvictionDrainDelay_NotTheWholeDrainDelay()
    {
        _files.Write("a", bytes: 100);
        _files.Write("b", bytes: 100);
        await using ServiceProvider services = _files.Services(
            template: t => t.Configure(o =>
            {
                o.TrackHits = false;
                o.DrainDelay = TimeSpan.FromSeconds(10);
                o.EvictionDrainDelay = TimeSpan.FromSeconds(1);
            }),
            templateOptions: o => o.MemoryBudgetBytes = 150).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        FakeModel a = provider.GetCache<FakeModel>("a").GetModel();

        Task<FakeModel> b = provider.GetCache<FakeModel>("b").GetModelAsync().AsTask();
        await Eventually.TrueAsync(() => Budget(provider).WaitingLoads == 1, "the load of b waits for a to drain");
        Assert.False(a.IsDisposed);

        _files.Time.Advance(TimeSpan.FromSeconds(1));

        Assert.StartsWith("b", (await b.WaitAsync(TimeSpan.FromSeconds(30))).Content, StringComparison.Ordinal);
        Assert.Equal(1, a.DisposeCount);
    }

    [Fact]
    public async Task ContentLargerThanTheBudget_IsNotReadPastTheBudget()
    {
        var endless = new EndlessStream();
        var services = new ServiceCollection();
        services.AddModelCache().AddModelTemplate<FakeModel>(
            "streams",
            t => t.FromSource((_, _) => new StreamModelSource(_ => ValueTask.FromResult<Stream>(endless), "endless")).UseLoader(_files.Loader),
            o => o.MemoryBudgetBytes = 1024 * 1024);
        await using ServiceProvider provider = services.BuildServiceProvider();

        var error = Assert.Throws<ModelLoadException>(() => provider.GetRequiredService<IModelCacheProvider>().GetCache<FakeModel>("big").GetModel());

        Assert.Contains("more than the whole memory budget of 1,048,576 bytes (streams)", error.Message, StringComparison.Ordinal);
        Assert.IsType<ModelBudgetException>(error.InnerException);

        // The budget (1 MiB), plus at most one read segment (4 MiB): not MaxArtifactBytes (1 GiB).
        Assert.InRange(endless.BytesRead, 1024 * 1024, 6 * 1024 * 1024);
    }

    /// <summary>A stream of zeros that never ends, counting what was read from it.</summary>
    private sealed class EndlessStream : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            Array.Clear(buffer, offset, count);
            BytesRead += count;
            return count;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
