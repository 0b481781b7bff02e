using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Budget;
using ModelCaching.Diagnostics;
using ModelCaching.Generations;
using ModelCaching.Loading;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Generations;

/// <summary>
/// <see cref="ServingChanges{TModel}"/>: an eviction asked by the budget (the cache's <see cref="IBudgetedCache"/>), and a
/// template model's failed first load told to its owner (<see cref="IModelCacheOwner"/>), which replaced the cache's
/// self-disposal through an <c>Action</c>; and the cache as the slot's <see cref="IServingCell{TModel}"/>, where a hit reads what serves.
/// </summary>
public sealed class ServingChangesTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task An_eviction_unloads_the_serving_model_and_raises_Unloaded_with_the_cache_as_sender()
    {
        var budget = new MemoryBudget("provider", 1_000_000);
        await using ModelCache<FakeModel> cache = Create("evicted", new MutableSource("v1"), budget);
        await cache.GetModelAsync();
        var unloaded = new List<(object? Sender, string Reason)>();
        cache.Unloaded += (sender, args) => unloaded.Add((sender, args.Reason));

        Assert.True(cache.BudgetMember!.Evict());

        Assert.Equal(ModelCacheState.Evicted, cache.State);
        Assert.Equal(EvictionStanding.Kept, cache.BudgetMember.Standing);
        (object? sender, string reason) = Assert.Single(unloaded);
        Assert.Same(cache, sender);
        Assert.Equal("memory_budget", reason);
        Assert.Equal(1, cache.GetStatistics().Unloads);
    }

    [Fact]
    public async Task An_eviction_of_a_model_that_no_longer_serves_unloads_nothing()
    {
        var budget = new MemoryBudget("provider", 1_000_000);
        await using ModelCache<FakeModel> cache = Create("gone", new MutableSource("v1"), budget);
        await cache.GetModelAsync();
        cache.Invalidate();
        int events = 0;
        cache.Unloaded += (_, _) => events++;

        Assert.False(cache.BudgetMember!.Evict());

        Assert.Equal(ModelCacheState.Unloaded, cache.State);
        Assert.Equal(EvictionStanding.Kept, cache.BudgetMember.Standing);
        Assert.Equal(0, events);
    }

    [Fact]
    public async Task A_failed_first_load_of_an_owned_model_tells_its_owner_once_and_arms_no_retry()
    {
        var source = new MutableSource("v1") { FailWith = new FileNotFoundException("no such model", "models/made-up.zip") };
        var owner = new RecordingOwner();
        ModelCache<FakeModel> cache = Create("made-up", source, budget: null, owner);

        ModelLoadException failure = await Assert.ThrowsAsync<TemplateModelNotFoundException>(() => cache.GetModelAsync().AsTask());

        (IModelCache told, ModelLoadException reported, Task answered) = Assert.Single(owner.Calls);
        Assert.Same(cache, told);
        Assert.Same(failure, reported);
        await answered.ContinueWith(static _ => { }, TaskScheduler.Default).WaitAsync(Eventually.Timeout);

        // No retry timer: a made-up name is not loaded again by the cache (its owner forgets it).
        // (A retry would start on the timer's firing, inside Advance, and show Loading at once.)
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(ModelCacheState.Failed, cache.State);
        Assert.Equal(1, source.Fetches);

        // The owner disposes it once its callers have their answer: a caller that still holds it gets the same failure.
        cache.Dispose();
        ModelLoadException late = Assert.Throws<TemplateModelNotFoundException>(() => cache.GetModel());
        Assert.Contains("not kept", late.Message, StringComparison.Ordinal);
        Assert.Single(owner.Calls);
    }

    [Fact]
    public async Task A_failed_first_load_of_a_model_without_an_owner_is_retried_and_kept()
    {
        var source = new MutableSource("v1") { FailWith = new FileNotFoundException("not yet", "models/late.zip") };
        await using ModelCache<FakeModel> cache = Create("late", source, budget: null);

        await Assert.ThrowsAsync<ModelLoadException>(() => cache.GetModelAsync().AsTask());
        source.FailWith = null;
        _time.Advance(TimeSpan.FromMinutes(5));

        await Eventually.TrueAsync(() => cache.State == ModelCacheState.Ready, "the retry loads the model");
        Assert.Equal("v1", (await cache.GetModelAsync()).Content);
    }

    [Fact]
    public async Task A_failed_first_load_after_an_owned_model_served_keeps_it_and_does_not_tell_the_owner()
    {
        var source = new MutableSource("v1");
        var owner = new RecordingOwner();
        await using ModelCache<FakeModel> cache = Create("served", source, budget: null, owner);
        await cache.GetModelAsync();
        cache.Invalidate();

        source.FailWith = new IOException("share offline");
        await Assert.ThrowsAsync<ModelLoadException>(() => cache.GetModelAsync().AsTask());

        Assert.Empty(owner.Calls);
        Assert.Equal(ModelCacheState.Failed, cache.State);
    }

    [Fact]
    public async Task The_slot_keeps_what_serves_in_the_cache_itself_through_load_reload_unload_and_disposal()
    {
        var source = new MutableSource("v1");
        ModelCache<FakeModel> cache = Create("cell", source, budget: null);
        var cell = (IServingCell<FakeModel>)cache;
        ModelSlot<FakeModel> slot = cache.Changes.Slot;
        Assert.Null(cell.Serving);

        FakeModel first = await cache.GetModelAsync();
        Assert.Same(first, cell.Serving!.Model);
        Assert.Equal(ModelCacheState.Ready, slot.State);

        source.Content = "v2";
        await cache.ReloadAsync();
        Assert.Equal("v2", cell.Serving!.Model.Content);
        Assert.Same(cell.Serving.Model, cache.GetModel());
        Assert.True(first.IsDisposed);

        cache.Invalidate();
        Assert.Null(cell.Serving);
        Assert.Equal(ModelCacheState.Unloaded, slot.State);

        FakeModel last = await cache.GetModelAsync();
        Assert.Same(last, cell.Serving!.Model);
        await cache.DisposeAsync();
        Assert.Null(cell.Serving);
        Assert.True(last.IsDisposed);
    }

    private ModelCache<FakeModel> Create(string name, MutableSource source, MemoryBudget? budget, IModelCacheOwner? owner = null) =>
        new(name, new ModelOptions<FakeModel> { Source = source, Loader = new FakeLoader(), RetryBaseDelay = TimeSpan.FromSeconds(1), DrainDelay = TimeSpan.Zero }, _time, NullLoggerFactory.Instance, new ModelCacheMetrics(null), new ModelLoadLimiter(4), budget, owner, owner is null ? null : "tenants");

    private sealed class RecordingOwner : IModelCacheOwner
    {
        private readonly Lock _gate = new();
        private readonly List<(IModelCache, ModelLoadException, Task)> _calls = [];

        public IReadOnlyList<(IModelCache Cache, ModelLoadException Failure, Task Answered)> Calls
        {
            get
            {
                lock (_gate)
                {
                    return [.. _calls];
                }
            }
        }

        public void OnFirstLoadFailed(IModelCache cache, ModelLoadException failure, Task answered)
        {
            lock (_gate)
            {
                _calls.Add((cache, failure, answered));
            }
        }
    }
}
