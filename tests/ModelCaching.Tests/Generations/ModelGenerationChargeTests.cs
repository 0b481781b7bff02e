using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ModelCaching.Budget;
using ModelCaching.Generations;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Generations;

/// <summary>
/// A generation keeps its budget charge in fields of its own (no charge object): its bytes drain once when it stops
/// serving and are released once when it is disposed, whatever order and threads those come in, and a generation that
/// was charged nothing tells its budget nothing.
/// </summary>
public sealed class ModelGenerationChargeTests
{
    private const int Trials = 2_000;

    [Fact]
    public void A_charged_generation_drains_when_it_stops_serving_and_is_released_when_disposed()
    {
        var budget = new MemoryBudget("tenants", limit: 1_000);
        var owner = new BudgetOwner(budget);
        ModelGeneration<FakeModel> generation = owner.Charged(100, out long charged);
        Assert.Equal(charged, budget.Snapshot().Resident);

        generation.StopServing();
        generation.StopServing();
        Assert.Equal((0, charged), (budget.Snapshot().Resident, budget.Snapshot().Draining));

        generation.Retire();
        Assert.True(generation.IsDisposed);
        Assert.Equal((0, 0), (budget.Snapshot().Resident, budget.Snapshot().Draining));
        Assert.Equal((1, 1, 1), (owner.Drained, owner.Released, owner.ReleasedDraining));
    }

    [Fact]
    public void A_generation_charged_nothing_tells_its_owner_nothing()
    {
        var owner = new BudgetOwner(new MemoryBudget("tenants", limit: 1_000));
        var generation = new ModelGeneration<FakeModel>(owner, new FakeModel("v1"), Version(), artifact: null, charge: null);

        generation.Retire();

        Assert.True(generation.IsDisposed);
        Assert.Equal((0, 0), (owner.Drained, owner.Released));
    }

    [Fact]
    public void Stopping_and_disposing_on_two_threads_at_once_release_each_charge_once_and_drain_it_at_most_once()
    {
        var budget = new MemoryBudget("tenants", limit: long.MaxValue);
        var owner = new BudgetOwner(budget);
        using var barrier = new Barrier(2);
        var generations = new ModelGeneration<FakeModel>[Trials];
        for (int i = 0; i < Trials; i++)
        {
            generations[i] = owner.Charged(10, out _);
        }

        // One thread retires each generation (it stops serving, then its last reference goes and it is disposed) while
        // the other tells it to stop serving: the drain and the release race on the generation's charge state.
        var stopper = new Thread(() =>
        {
            foreach (ModelGeneration<FakeModel> generation in generations)
            {
                barrier.SignalAndWait();
                generation.StopServing();
            }
        });
        stopper.Start();
        foreach (ModelGeneration<FakeModel> generation in generations)
        {
            barrier.SignalAndWait();
            generation.Retire();
        }

        Assert.True(stopper.Join(TimeSpan.FromSeconds(60)), "the stopping thread ended");
        MemorySnapshot snapshot = budget.Snapshot();
        Assert.Equal((0, 0), (snapshot.Resident, snapshot.Draining));
        Assert.Equal(Trials, owner.Released);
        Assert.Equal(0, owner.DrainedTwice);
        Assert.Equal(0, owner.ReleasedTwice);
        Assert.Equal(0, owner.ReleasedDrainingWithoutDrain);
    }

    private static ModelVersion Version() => new("g1", 1, "memory:test", DateTimeOffset.UnixEpoch, 0);

    /// <summary>What a slot is to its generations' charges: forwards them to a real budget, counting each generation's news.</summary>
    private sealed class BudgetOwner(MemoryBudget budget) : IGenerationOwner<FakeModel>
    {
        private readonly BudgetMember _member = budget.Join(new Unevictable());
        private readonly object _gate = new();
        private readonly HashSet<long> _drained = [];
        private readonly HashSet<long> _released = [];

        // The charged bytes of each generation made here are its own number: the news tells which generation it is.
        private long _next;

        public string ModelName => "m";

        public ILogger Logger => NullLogger.Instance;

        public int Drained { get; private set; }

        public int Released { get; private set; }

        public int ReleasedDraining { get; private set; }

        public int DrainedTwice { get; private set; }

        public int ReleasedTwice { get; private set; }

        public int ReleasedDrainingWithoutDrain { get; private set; }

        public ModelGeneration<FakeModel> Charged(long bytes, out long size)
        {
            // Distinct sizes tell the generations apart in the owner's news; the budget sums whatever they are.
            size = bytes + Interlocked.Increment(ref _next);
            MemoryBudget.Reservation reservation = budget.Reserve(_member, size, CancellationToken.None, progress: null);
            GenerationCharge charge = budget.Charge(_member, reservation, size, loadSeconds: 0.01);
            return new ModelGeneration<FakeModel>(this, new FakeModel("v"), Version(), artifact: null, charge);
        }

        public void OnGenerationDisposed(ModelGeneration<FakeModel> generation)
        {
        }

        public void OnChargeDraining(long bytes)
        {
            lock (_gate)
            {
                Drained++;
                DrainedTwice += _drained.Add(bytes) ? 0 : 1;
            }

            budget.MoveToDraining(bytes, _member);
        }

        public void OnChargeReleased(long bytes, bool draining)
        {
            lock (_gate)
            {
                Released++;
                ReleasedTwice += _released.Add(bytes) ? 0 : 1;
                ReleasedDraining += draining ? 1 : 0;
                ReleasedDrainingWithoutDrain += draining && !_drained.Contains(bytes) ? 1 : 0;
            }

            budget.ReleaseCharge(bytes, draining, _member);
        }
    }

    private sealed class Unevictable : IBudgetedCache
    {
        public string Name => "m";

        public bool Evict() => false;
    }
}
