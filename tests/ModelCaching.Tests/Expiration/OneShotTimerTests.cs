using Microsoft.Extensions.Time.Testing;
using ModelCaching.Expiration;
using ModelCaching.Loading;

namespace ModelCaching.Tests.Expiration;

/// <summary><see cref="OneShotTimer"/> on its own, on a <see cref="FakeTimeProvider"/>.</summary>
public sealed class OneShotTimerTests : IDisposable, ITimedModel
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
    private readonly OneShotTimer _timer;
    private int _fired;

    public OneShotTimerTests() => _timer = new OneShotTimer(_time, this, ModelLoadReason.Retry);

    public void Dispose() => _timer.Dispose();

    void ITimedModel.LoadInBackground(ModelLoadReason reason)
    {
        Assert.Equal(ModelLoadReason.Retry, reason);
        _fired++;
    }

    IdleTickState ITimedModel.CheckIdle() => throw new InvalidOperationException("a one-shot timer never checks idleness");

    void ITimedModel.UnloadIdle() => throw new InvalidOperationException("a one-shot timer never unloads");

    [Fact]
    public void Nothing_fires_before_Arm()
    {
        _time.Advance(TimeSpan.FromHours(1));

        Assert.Equal(0, _fired);
    }

    [Fact]
    public void Fires_once_at_the_delay_after_Arm()
    {
        _timer.Arm(TimeSpan.FromSeconds(10));

        _time.Advance(TimeSpan.FromSeconds(9.999));
        Assert.Equal(0, _fired);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, _fired);

        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(1, _fired);
    }

    [Fact]
    public void Fires_once_per_Arm()
    {
        _timer.Arm(TimeSpan.FromSeconds(1));
        _time.Advance(TimeSpan.FromSeconds(1));
        _timer.Arm(TimeSpan.FromSeconds(1));
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(2, _fired);
    }

    [Fact]
    public void Arm_again_replaces_the_earlier_arming()
    {
        _timer.Arm(TimeSpan.FromSeconds(10));
        _timer.Arm(TimeSpan.FromSeconds(30));

        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(0, _fired);

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, _fired);

        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(1, _fired);
    }

    [Fact]
    public void Arm_again_with_a_shorter_delay_fires_sooner()
    {
        _timer.Arm(TimeSpan.FromSeconds(30));
        _timer.Arm(TimeSpan.FromSeconds(5));

        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(1, _fired);

        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(1, _fired);
    }

    [Fact]
    public void Disarm_cancels_the_pending_firing_and_a_later_Arm_still_works()
    {
        _timer.Arm(TimeSpan.FromSeconds(10));
        _timer.Disarm();

        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(0, _fired);

        _timer.Arm(TimeSpan.FromSeconds(10));
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(1, _fired);
    }

    [Fact]
    public void Disarm_before_any_Arm_does_nothing()
    {
        _timer.Disarm();
        _time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(0, _fired);
    }

    [Fact]
    public void Dispose_cancels_the_pending_firing_and_a_later_Arm_does_nothing()
    {
        _timer.Arm(TimeSpan.FromSeconds(10));

        _timer.Dispose();
        _timer.Arm(TimeSpan.FromSeconds(1));
        _time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(0, _fired);
    }
}
