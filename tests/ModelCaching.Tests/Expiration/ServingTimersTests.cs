using Microsoft.Extensions.Time.Testing;
using ModelCaching.Expiration;
using ModelCaching.Loading;

namespace ModelCaching.Tests.Expiration;

/// <summary><see cref="ServingTimers"/> on its own: what each transition of the serving slot arms, and the idle bookkeeping.</summary>
public sealed class ServingTimersTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly RecordingModel _model = new();

    [Fact]
    public void A_load_arms_the_refresh_ahead_at_the_ratio_of_the_time_to_live()
    {
        using var timers = new ServingTimers(_time, new ModelOptions { TimeToLive = TimeSpan.FromMinutes(10), RefreshAheadRatio = 0.5 }, _model);

        timers.OnLoaded();
        _time.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
        Assert.Empty(_model.Loads);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal([ModelLoadReason.RefreshAhead], _model.Loads);
    }

    [Fact]
    public void A_retry_fires_after_its_delay_unless_an_unload_or_a_load_disarms_it()
    {
        using var timers = new ServingTimers(_time, new ModelOptions(), _model);

        timers.ArmRetry(TimeSpan.FromSeconds(3));
        timers.OnUnloaded();
        timers.ArmRetry(TimeSpan.FromSeconds(3));
        timers.OnLoaded();
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Empty(_model.Loads);

        timers.ArmRetry(TimeSpan.FromSeconds(3));
        _time.Advance(TimeSpan.FromSeconds(3));

        Assert.Equal([ModelLoadReason.Retry], _model.Loads);
    }

    [Fact]
    public void After_a_load_the_first_tick_sees_new_misses_and_a_tick_with_the_same_count_does_not()
    {
        using var timers = new ServingTimers(_time, new ModelOptions { IdleTimeout = TimeSpan.FromMinutes(1) }, _model);
        timers.OnLoaded();

        Assert.True(timers.SawNewMisses(0));
        Assert.False(timers.SawNewMisses(0));
        Assert.True(timers.SawNewMisses(1));

        timers.OnLoaded();
        Assert.True(timers.SawNewMisses(1));
    }

    [Fact]
    public void A_quiet_idle_timeout_unloads_the_model()
    {
        using var timers = new ServingTimers(_time, new ModelOptions { IdleTimeout = TimeSpan.FromMinutes(1) }, _model);
        _model.Tick = IdleTickState.Quiet;

        timers.OnLoaded();
        _time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(1, _model.IdleUnloads);
    }

    [Fact]
    public void Timers_made_before_their_model_drive_the_one_named_later_and_only_one()
    {
        using var timers = new ServingTimers(_time, new ModelOptions { IdleTimeout = TimeSpan.FromMinutes(1) });
        timers.Drive(_model);
        _model.Tick = IdleTickState.Quiet;

        timers.ArmRetry(TimeSpan.FromSeconds(3));
        timers.OnUnloaded();
        timers.OnLoaded();
        timers.ArmRetry(TimeSpan.FromSeconds(3));
        _time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal([ModelLoadReason.Retry], _model.Loads);
        Assert.Equal(1, _model.IdleUnloads);
        Assert.Throws<InvalidOperationException>(() => timers.Drive(new RecordingModel()));
    }

    [Fact]
    public void No_retry_timer_is_made_until_a_retry_is_armed_and_then_it_fires_a_retry()
    {
        using var timers = new ServingTimers(_time, new ModelOptions(), _model);
        timers.OnLoaded();
        timers.OnUnloaded();
        Assert.False(timers.HasRetryTimer);

        timers.ArmRetry(TimeSpan.FromSeconds(2));
        Assert.True(timers.HasRetryTimer);
        _time.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal([ModelLoadReason.Retry], _model.Loads);
    }

    [Fact]
    public void A_retry_armed_after_disposal_never_fires()
    {
        var timers = new ServingTimers(_time, new ModelOptions(), _model);
        timers.Dispose();

        timers.ArmRetry(TimeSpan.FromSeconds(1));
        _time.Advance(TimeSpan.FromMinutes(1));

        Assert.Empty(_model.Loads);
    }

    private sealed class RecordingModel : ITimedModel
    {
        public List<ModelLoadReason> Loads { get; } = [];

        public IdleTickState Tick { get; set; } = IdleTickState.Active;

        public int IdleUnloads { get; private set; }

        public void LoadInBackground(ModelLoadReason reason) => Loads.Add(reason);

        public IdleTickState CheckIdle() => Tick;

        public void UnloadIdle() => IdleUnloads++;
    }
}
