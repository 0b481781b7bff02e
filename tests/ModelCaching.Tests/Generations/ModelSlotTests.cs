using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.FailSafe;
using ModelCaching.Generations;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Generations;

/// <summary>
/// <see cref="ModelSlot{TModel}"/>'s state machine walked transition by transition through the slot's own events: each
/// state is reached and each event fired in it, against a matrix of what the cache did before the slot; the table in
/// <see cref="SlotTransitions"/> must hold exactly that matrix's allowed cells.
/// </summary>
public sealed class ModelSlotTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly RecordingTimers _timers = new();
    private readonly FailSafePolicy _failSafe;
    private readonly ModelSlot<FakeModel> _slot;

    public ModelSlotTests()
    {
        _failSafe = new FailSafePolicy(_time, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), random: static () => 0.5);
        _slot = new ModelSlot<FakeModel>("m", "memory:test", new ModelOptions<FakeModel> { RollbackRetention = ModelRollbackRetention.Generation }, _time, NullLogger.Instance, _failSafe, _timers);
    }

    // What each event does in each state, as the cache did it before the slot existed: the new state, "-" refused (nothing
    // changes), "x" cannot be sent (a failure is told with or without a serving generation by what serves, and these
    // states always, or never, serve). Columns in SlotEvent's order. SlotTransitions must say the same.
    private static readonly string[] Matrix =
    [
        //          LoadStarted Swapped SourceUnchanged FailedWhileServing FailedWithNothingServing UnloadedForSwap Restored Unloaded  Evicted  Disposed
        "NotLoaded: Loading     Ready   -               x                  Failed                   -               -        -         -        Disposed",
        "Loading:   Loading     Ready   -               Degraded           Failed                   Loading         Loading  Unloaded  -        Disposed",
        "Ready:     -           Ready   -               Degraded           x                        Loading         -        Unloaded  Evicted  Disposed",
        "Degraded:  -           Ready   Ready           Degraded           x                        Loading         -        Unloaded  Evicted  Disposed",
        "Failed:    Loading     Ready   -               Degraded           Failed                   Loading         Failed   Unloaded  -        Disposed",
        "Unloaded:  Loading     Ready   -               x                  Failed                   -               -        -         -        Disposed",
        "Evicted:   Loading     Ready   -               x                  Failed                   -               -        -         -        Disposed",
        "Disposed:  -           -       -               -                  -                        -               -        -         -        -",
    ];

    // The states and events are internal: the theory takes their names.
    public static TheoryData<string, string, string> Cells()
    {
        var data = new TheoryData<string, string, string>();
        foreach ((SlotState from, SlotEvent on, string expected) in MatrixCells())
        {
            if (expected != "x")
            {
                data.Add(from.ToString(), on.ToString(), expected);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public void Each_event_in_each_state_leads_where_the_cache_led_before_or_is_refused_and_changes_nothing(string fromState, string onEvent, string expected)
    {
        (SlotState from, SlotEvent on) = (Enum.Parse<SlotState>(fromState), Enum.Parse<SlotEvent>(onEvent));
        Reach(from, serving: NeedsServing(on) == true);
        ModelGeneration<FakeModel>? before = _slot.Serving;

        bool? accepted = Fire(on, out ModelGeneration<FakeModel>? fired);

        if (expected == "-")
        {
            Assert.NotEqual(true, accepted);
            Assert.Equal(from, _slot.UnlockedState);
            Assert.Same(before, _slot.Serving);
            return;
        }

        Assert.NotEqual(false, accepted);
        Assert.Equal(Enum.Parse<SlotState>(expected), _slot.UnlockedState);
        ModelGeneration<FakeModel>? serving = on switch
        {
            SlotEvent.Swapped or SlotEvent.Restored => fired,
            SlotEvent.UnloadedForSwap or SlotEvent.Unloaded or SlotEvent.Evicted => null,
            _ => before,
        };
        Assert.Same(serving, _slot.Serving);
    }

    [Fact]
    public void The_table_holds_exactly_the_allowed_cells_of_the_matrix()
    {
        var allowed = MatrixCells().Where(static cell => cell.Expected is not ("-" or "x")).Select(static cell => (cell.From, cell.On, Enum.Parse<SlotState>(cell.Expected)));

        Assert.Equal(allowed.Order(), SlotTransitions.Rows.Order());
    }

    [Fact]
    public void The_table_names_every_state_and_every_event()
    {
        Assert.Equal(Enum.GetValues<SlotState>().Order(), SlotTransitions.Rows.SelectMany(static row => new[] { row.From, row.To }).Distinct().Order());
        Assert.Equal(Enum.GetValues<SlotEvent>().Order(), SlotTransitions.Rows.Select(static row => row.On).Distinct().Order());
    }

    [Fact]
    public void A_failed_reload_keeps_the_generation_serving_and_an_unchanged_source_then_recovers()
    {
        ModelGeneration<FakeModel> good = Swap();

        ModelGeneration<FakeModel>? serving = _slot.OnLoadFailed(Failure(), retry: true, out TimeSpan? retryIn);

        Assert.Same(good, serving);
        Assert.Equal(ModelCacheState.Degraded, _slot.State);
        Assert.NotNull(retryIn);
        Assert.Equal(1, _timers.RetriesArmed);
        Assert.NotNull(_slot.Read().LastError);

        Assert.True(_slot.OnUnchanged(good));
        Assert.Equal(ModelCacheState.Ready, _slot.State);
        Assert.Null(_slot.Read().LastError);
    }

    [Fact]
    public void A_first_load_that_fails_says_Failed_and_starts_the_cool_down()
    {
        Assert.True(_slot.OnLoadStarting());
        Assert.Equal(ModelCacheState.Loading, _slot.State);

        Assert.Null(_slot.OnLoadFailed(Failure(), retry: true, out _));

        Assert.Equal(ModelCacheState.Failed, _slot.State);
        Assert.True(_failSafe.TryGetCooldownFailure(out _));
    }

    [Fact]
    public void The_budget_cannot_evict_a_model_that_unloads_first_for_a_swap()
    {
        ModelGeneration<FakeModel> current = Swap();
        Assert.NotNull(_slot.UnloadForSwap(current));

        Assert.Null(_slot.Unload(evict: true));

        Assert.Equal(ModelCacheState.Loading, _slot.State);
        Assert.True(current.IsDisposed);
    }

    [Fact]
    public void An_eviction_lets_the_serving_generation_and_the_one_kept_for_a_rollback_go()
    {
        ModelGeneration<FakeModel> first = Swap();
        ModelGeneration<FakeModel> second = Swap();

        Assert.Same(second, _slot.Unload(evict: true));

        Assert.Equal(ModelCacheState.Evicted, _slot.State);
        Assert.Equal(1, _timers.Unloads);
        Assert.False(_slot.TryTakeRollback(out _, out _));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(first.IsDisposed);
        Assert.True(second.IsDisposed);
    }

    [Fact]
    public void A_disposed_slot_reads_as_Unloaded_refuses_a_swap_and_retires_what_it_was_given()
    {
        Swap();
        Assert.True(_slot.Close());
        Assert.False(_slot.Close());
        ModelGeneration<FakeModel> late = Generation();

        Assert.False(_slot.TrySwap(late, rollback: false, out _));

        Assert.Equal(ModelCacheState.Unloaded, _slot.State);
        Assert.True(_slot.IsDisposed);
        Assert.True(late.IsDisposed);
    }

    [Fact]
    public void A_rollback_swaps_the_kept_generation_back_and_rejects_the_version_it_leaves()
    {
        ModelGeneration<FakeModel> first = Swap();
        ModelGeneration<FakeModel> second = Swap("v2");
        Assert.True(_slot.TryTakeRollback(out ModelGeneration<FakeModel>? kept, out _));
        Assert.Same(first, kept);

        Assert.True(_slot.TrySwap(kept!, rollback: true, out SlotSwap<FakeModel> swap));
        _slot.Retire(swap);

        Assert.Same(second, swap.Previous);
        Assert.Same(first, _slot.Serving);
        Assert.True(_failSafe.IsRejected(second.ContentHash!, out _));
    }

    private static IEnumerable<(SlotState From, SlotEvent On, string Expected)> MatrixCells()
    {
        SlotEvent[] events = Enum.GetValues<SlotEvent>();
        foreach (string line in Matrix)
        {
            string[] cells = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(events.Length + 1, cells.Length);
            SlotState from = Enum.Parse<SlotState>(cells[0].TrimEnd(':'));
            for (int i = 0; i < events.Length; i++)
            {
                yield return (from, events[i], cells[i + 1]);
            }
        }
    }

    private static bool CanServe(SlotState state) => state is not (SlotState.NotLoaded or SlotState.Unloaded or SlotState.Evicted);

    private static bool CanServeNothing(SlotState state) => state is not (SlotState.Ready or SlotState.Degraded);

    // Whether the event needs a generation serving (true), none (false), or either (null).
    private static bool? NeedsServing(SlotEvent on) => on switch
    {
        SlotEvent.LoadStarted or SlotEvent.FailedWithNothingServing or SlotEvent.Restored => false,
        SlotEvent.SourceUnchanged or SlotEvent.FailedWhileServing or SlotEvent.UnloadedForSwap or SlotEvent.Unloaded or SlotEvent.Evicted => true,
        _ => null,
    };

    /// <summary>Brings the slot to <paramref name="state"/> through its events, serving a generation where the state allows it and <paramref name="serving"/> asks.</summary>
    private void Reach(SlotState state, bool serving)
    {
        switch (state)
        {
            case SlotState.NotLoaded:
                break;
            case SlotState.Loading when serving:
                Assert.NotNull(_slot.UnloadForSwap(Swap()));
                Assert.True(_slot.TryRestore(Generation()));
                break;
            case SlotState.Loading:
                Assert.True(_slot.OnLoadStarting());
                break;
            case SlotState.Ready:
                Swap();
                break;
            case SlotState.Degraded:
                Swap();
                _slot.OnLoadFailed(Failure(), retry: false, out _);
                break;
            case SlotState.Failed when serving:
                Assert.NotNull(_slot.UnloadForSwap(Swap()));
                _slot.OnLoadFailed(Failure(), retry: false, out _);
                Assert.True(_slot.TryRestore(Generation()));
                break;
            case SlotState.Failed:
                _slot.OnLoadFailed(Failure(), retry: false, out _);
                break;
            case SlotState.Unloaded:
                Swap();
                Assert.NotNull(_slot.Unload(evict: false));
                break;
            case SlotState.Evicted:
                Swap();
                Assert.NotNull(_slot.Unload(evict: true));
                break;
            case SlotState.Disposed:
                if (serving)
                {
                    Swap();
                }

                Assert.True(_slot.Close());
                break;
        }

        Assert.Equal(state, _slot.UnlockedState);
        Assert.Equal(!CanServeNothing(state) || (serving && CanServe(state)), _slot.Serving is not null);
    }

    /// <summary>Sends <paramref name="on"/> through the slot's API.</summary>
    /// <returns>Whether the slot took it, where its API says so; <see langword="null"/> where only the state tells.</returns>
    private bool? Fire(SlotEvent on, out ModelGeneration<FakeModel>? fired)
    {
        fired = null;
        ModelGeneration<FakeModel>? serving = _slot.Serving;
        switch (on)
        {
            case SlotEvent.LoadStarted:
                return _slot.OnLoadStarting();
            case SlotEvent.Swapped:
                fired = Generation();
                bool swapped = _slot.TrySwap(fired, rollback: false, out SlotSwap<FakeModel> swap);
                _slot.Retire(swap);
                return swapped;
            case SlotEvent.SourceUnchanged:
                // Degraded → Ready is the only change; an unchanged source in another state is taken and changes nothing.
                bool recovered = _slot.OnUnchanged(serving ?? Generation());
                return recovered ? true : null;
            case SlotEvent.FailedWhileServing:
                Assert.NotNull(serving);
                _slot.OnLoadFailed(Failure(), retry: false, out _);
                return null;
            case SlotEvent.FailedWithNothingServing:
                Assert.Null(serving);
                bool coolingBefore = _failSafe.TryGetCooldownFailure(out _);
                _slot.OnLoadFailed(Failure(), retry: false, out _);
                return coolingBefore ? null : _failSafe.TryGetCooldownFailure(out _);
            case SlotEvent.UnloadedForSwap:
                return _slot.UnloadForSwap(serving ?? Generation()) is not null;
            case SlotEvent.Restored:
                fired = Generation();
                return _slot.TryRestore(fired);
            case SlotEvent.Unloaded:
                return _slot.Unload(evict: false) is not null;
            case SlotEvent.Evicted:
                return _slot.Unload(evict: true) is not null;
            case SlotEvent.Disposed:
                return _slot.Close();
            default:
                throw new ArgumentOutOfRangeException(nameof(on), on, null);
        }
    }

    private ModelGeneration<FakeModel> Swap(string content = "v1")
    {
        ModelGeneration<FakeModel> generation = Generation(content);
        Assert.True(_slot.TrySwap(generation, rollback: false, out SlotSwap<FakeModel> swap));
        _slot.Retire(swap);
        return generation;
    }

    private ModelGeneration<FakeModel> Generation(string content = "v1")
    {
        var artifact = new ModelArtifact(System.Text.Encoding.UTF8.GetBytes(content), "memory:test");
        return _slot.CreateGeneration(new FakeModel(content), artifact, size: 2, charge: null);
    }

    private static ModelLoadException Failure() => new("m", "memory:test", "the file is corrupt", new InvalidDataException("corrupt"));

    private sealed class RecordingTimers : IServingTimers
    {
        public int Loads { get; private set; }

        public int RetriesArmed { get; private set; }

        public int Unloads { get; private set; }

        public void OnLoaded() => Loads++;

        public void ArmRefresh()
        {
        }

        public void ArmRetry(TimeSpan delay) => RetriesArmed++;

        public void OnUnloaded() => Unloads++;
    }
}
