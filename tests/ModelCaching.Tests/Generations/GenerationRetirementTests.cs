using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Generations;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Generations;

/// <summary><see cref="GenerationRetirement{TModel}"/> on its own: drain delays, leases and forgetting disposed generations.</summary>
public sealed class GenerationRetirementTests
{
    private static readonly TimeSpan DrainDelay = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
    private long _generations;

    [Fact]
    public void A_disposable_model_waits_out_the_drain_delay_before_it_is_disposed()
    {
        var retirement = new GenerationRetirement<FakeModel>(_time, DrainDelay);
        ModelGeneration<FakeModel> generation = Generation(retirement, "v1");

        retirement.Retire(generation);
        _time.Advance(DrainDelay - TimeSpan.FromMilliseconds(1));

        Assert.False(generation.Model.IsDisposed);
        Assert.Equal(1, retirement.Count);

        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal(1, generation.Model.DisposeCount);
        Assert.True(generation.IsDisposed);
        Assert.Equal(0, retirement.Count);
    }

    [Fact]
    public void A_model_that_is_not_disposable_is_released_at_once_without_a_drain_delay()
    {
        var retirement = new GenerationRetirement<PlainModel>(_time, DrainDelay);
        var generation = new ModelGeneration<PlainModel>(new Owner<PlainModel>(retirement), new PlainModel(), Version(), null);

        retirement.Retire(generation);

        Assert.True(generation.IsDisposed);
        Assert.Equal(0, retirement.Count);
    }

    [Fact]
    public void A_zero_drain_delay_disposes_a_disposable_model_at_once()
    {
        var retirement = new GenerationRetirement<FakeModel>(_time, TimeSpan.Zero);
        ModelGeneration<FakeModel> generation = Generation(retirement, "v1");

        retirement.Retire(generation);

        Assert.Equal(1, generation.Model.DisposeCount);
        Assert.Equal(0, retirement.Count);
    }

    [Fact]
    public void Retiring_null_does_nothing()
    {
        var retirement = new GenerationRetirement<FakeModel>(_time, DrainDelay);

        retirement.Retire(null);

        Assert.Equal(0, retirement.Count);
    }

    [Fact]
    public void One_generation_at_most_waits_the_older_one_is_retired_at_once_when_another_is_swapped_out()
    {
        var retirement = new GenerationRetirement<FakeModel>(_time, DrainDelay);
        ModelGeneration<FakeModel> first = Generation(retirement, "v1");
        ModelGeneration<FakeModel> second = Generation(retirement, "v2");
        ModelGeneration<FakeModel> third = Generation(retirement, "v3");

        retirement.Retire(first);
        retirement.Retire(second);

        Assert.Equal(1, first.Model.DisposeCount);
        Assert.False(second.Model.IsDisposed);
        Assert.Equal(1, retirement.Count);

        retirement.Retire(third);

        Assert.Equal(1, second.Model.DisposeCount);
        Assert.False(third.Model.IsDisposed);

        _time.Advance(DrainDelay);

        Assert.Equal(1, third.Model.DisposeCount);
        Assert.Equal(1, first.Model.DisposeCount);
        Assert.Equal(1, second.Model.DisposeCount);
        Assert.Equal(0, retirement.Count);
    }

    [Fact]
    public void A_lease_pins_its_generation_past_the_drain_delay_until_it_ends()
    {
        var retirement = new GenerationRetirement<FakeModel>(_time, DrainDelay);
        ModelGeneration<FakeModel> generation = Generation(retirement, "v1");
        Assert.True(generation.TryAcquire());

        retirement.Retire(generation);
        _time.Advance(DrainDelay * 3);

        Assert.False(generation.Model.IsDisposed);
        Assert.Equal(1, retirement.Count);
        Assert.Equal(1, retirement.ActiveLeases);

        generation.Release();

        Assert.Equal(1, generation.Model.DisposeCount);
        Assert.Equal(0, retirement.Count);
        Assert.Equal(0, retirement.ActiveLeases);
    }

    [Fact]
    public void A_lease_pins_a_generation_cut_short_by_a_newer_one()
    {
        var retirement = new GenerationRetirement<FakeModel>(_time, DrainDelay);
        ModelGeneration<FakeModel> first = Generation(retirement, "v1");
        ModelGeneration<FakeModel> second = Generation(retirement, "v2");
        Assert.True(first.TryAcquire());
        Assert.True(first.TryAcquire());

        retirement.Retire(first);
        retirement.Retire(second);

        Assert.False(first.Model.IsDisposed);
        Assert.Equal(2, retirement.Count);
        Assert.Equal(2, retirement.ActiveLeases);

        first.Release();
        Assert.False(first.Model.IsDisposed);
        first.Release();

        Assert.Equal(1, first.Model.DisposeCount);
        Assert.Equal(1, retirement.Count);
        Assert.Equal(0, retirement.ActiveLeases);
    }

    [Fact]
    public void RetireAllNow_ends_the_drain_delay_and_later_generations_get_none()
    {
        var retirement = new GenerationRetirement<FakeModel>(_time, DrainDelay);
        ModelGeneration<FakeModel> draining = Generation(retirement, "v1");
        ModelGeneration<FakeModel> leased = Generation(retirement, "v2");
        ModelGeneration<FakeModel> later = Generation(retirement, "v3");
        Assert.True(leased.TryAcquire());
        retirement.Retire(leased);
        retirement.Retire(draining);

        retirement.RetireAllNow();

        Assert.Equal(1, draining.Model.DisposeCount);
        Assert.False(leased.Model.IsDisposed);
        Assert.Equal(1, retirement.Count);

        retirement.Retire(later);

        Assert.Equal(1, later.Model.DisposeCount);

        leased.Release();

        Assert.Equal(1, leased.Model.DisposeCount);
        Assert.Equal(0, retirement.Count);

        _time.Advance(DrainDelay * 2);
        Assert.Equal(1, draining.Model.DisposeCount);
    }

    [Fact]
    public void A_disposed_generation_is_forgotten_so_its_model_can_be_collected()
    {
        var retirement = new GenerationRetirement<PlainModel>(_time, DrainDelay);

        WeakReference model = RetireOne(retirement);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.False(model.IsAlive);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference RetireOne(GenerationRetirement<PlainModel> retirement)
    {
        var generation = new ModelGeneration<PlainModel>(new Owner<PlainModel>(retirement), new PlainModel(), Version(), null);
        retirement.Retire(generation);
        return new WeakReference(generation.Model);
    }

    private static ModelVersion Version(long generation = 1) => new($"g{generation}", generation, "memory:test", DateTimeOffset.UnixEpoch, 0);

    private ModelGeneration<FakeModel> Generation(GenerationRetirement<FakeModel> retirement, string content) =>
        new(new Owner<FakeModel>(retirement), new FakeModel(content), Version(++_generations), null);

    /// <summary>What a slot is to its generations: tells the retirement of each disposal.</summary>
    private sealed class Owner<TModel>(GenerationRetirement<TModel> retirement) : IGenerationOwner<TModel>
        where TModel : class
    {
        public string ModelName => "m";

        public Microsoft.Extensions.Logging.ILogger Logger => NullLogger.Instance;

        public void OnGenerationDisposed(ModelGeneration<TModel> generation) => retirement.Forget(generation);

        // The generations here are charged to no budget.
        public void OnChargeDraining(long bytes) => throw new InvalidOperationException("not charged");

        public void OnChargeReleased(long bytes, bool draining) => throw new InvalidOperationException("not charged");
    }

    /// <summary>A model with nothing to dispose.</summary>
    public sealed class PlainModel;
}
