using Microsoft.Extensions.Time.Testing;
using ModelCaching.Expiration;
using ModelCaching.Loading;

namespace ModelCaching.Tests.Expiration;

/// <summary><see cref="IdleTimer"/> on its own, ticked by a <see cref="FakeTimeProvider"/>: four ticks per timeout.</summary>
public sealed class IdleTimerTests : IDisposable, ITimedModel
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(4);
    private static readonly TimeSpan Tick = Timeout / IdleTimer.TicksPerTimeout;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
    private readonly IdleTimer _timer;
    private IdleTickState _state = IdleTickState.Quiet;
    private int _checks;
    private int _idles;

    public IdleTimerTests()
    {
        _timer = new IdleTimer(_time, Timeout, this);
    }

    public void Dispose() => _timer.Dispose();

    void ITimedModel.LoadInBackground(ModelLoadReason reason) => throw new InvalidOperationException("an idle timer never loads");

    IdleTickState ITimedModel.CheckIdle()
    {
        _checks++;
        return _state;
    }

    void ITimedModel.UnloadIdle() => _idles++;

    [Fact]
    public void Nothing_ticks_before_Start()
    {
        Ticks(8);

        Assert.Equal(0, _checks);
        Assert.Equal(0, _idles);
    }

    [Fact]
    public void A_quiet_model_goes_idle_after_four_ticks_not_three()
    {
        Assert.Equal(4, IdleTimer.TicksPerTimeout);
        _timer.Start();

        Ticks(3);
        Assert.Equal(3, _checks);
        Assert.Equal(0, _idles);

        Ticks(1);
        Assert.Equal(1, _idles);
    }

    [Fact]
    public void OnIdle_runs_once_per_timeout_while_the_model_stays_quiet()
    {
        _timer.Start();

        Ticks(7);
        Assert.Equal(1, _idles);

        Ticks(1);
        Assert.Equal(2, _idles);
    }

    [Fact]
    public void An_active_tick_starts_the_count_again()
    {
        _timer.Start();
        Ticks(3);

        _state = IdleTickState.Active;
        Ticks(1);
        _state = IdleTickState.Quiet;
        Ticks(3);
        Assert.Equal(0, _idles);

        Ticks(1);
        Assert.Equal(1, _idles);
    }

    [Fact]
    public void A_not_applicable_tick_neither_counts_nor_resets()
    {
        _timer.Start();
        Ticks(3);

        _state = IdleTickState.NotApplicable;
        Ticks(10);
        Assert.Equal(0, _idles);

        _state = IdleTickState.Quiet;
        Ticks(1);
        Assert.Equal(1, _idles);
    }

    [Fact]
    public void Start_again_forgets_the_quiet_ticks_counted_so_far_and_keeps_one_timer()
    {
        _timer.Start();
        Ticks(3);

        _timer.Start();
        Ticks(3);
        Assert.Equal(0, _idles);
        Assert.Equal(6, _checks);

        Ticks(1);
        Assert.Equal(1, _idles);
        Assert.Equal(7, _checks);
    }

    [Fact]
    public void Dispose_stops_the_ticks_and_a_later_Start_does_nothing()
    {
        _timer.Start();
        Ticks(2);

        _timer.Dispose();
        Ticks(8);
        _timer.Start();
        Ticks(8);

        Assert.Equal(2, _checks);
        Assert.Equal(0, _idles);
    }

    private void Ticks(int count)
    {
        for (int i = 0; i < count; i++)
        {
            _time.Advance(Tick);
        }
    }
}
