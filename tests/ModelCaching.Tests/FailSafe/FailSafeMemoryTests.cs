using Microsoft.Extensions.Time.Testing;
using ModelCaching.FailSafe;

namespace ModelCaching.Tests.FailSafe;

/// <summary>
/// A <see cref="FailSafePolicy"/>'s state is made at the first failure, with the failure streak, and its unchanging
/// settings are one object for the models that share them (issue 18: a name that never failed holds two references).
/// </summary>
public sealed class FailSafeMemoryTests
{
    private const int Threads = 8;
    private const int FailuresPerThread = 50;
    private const int Trials = 200;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 1, 0, 0, TimeSpan.Zero));

    [Fact]
    public void A_successful_streak_keeps_no_state_and_the_first_failure_makes_it_with_its_count()
    {
        var policy = new FailSafePolicy(_time, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));

        policy.OnSuccess();
        policy.ResetStreak();
        Assert.Equal(0, policy.ConsecutiveFailures);
        Assert.False(policy.HasMemory);

        Assert.NotNull(policy.NextRetryDelay());
        Assert.True(policy.HasMemory);
        Assert.Equal(1, policy.ConsecutiveFailures);
        policy.OnSuccess();
        Assert.Equal(0, policy.ConsecutiveFailures);
        Assert.NotNull(policy.NextRetryDelay());
        policy.ResetStreak();
        Assert.Equal(0, policy.ConsecutiveFailures);
    }

    [Fact]
    public void With_retries_off_a_failure_counts_nothing_and_the_cooldown_alone_makes_the_state()
    {
        var policy = new FailSafePolicy(_time, TimeSpan.FromSeconds(5), TimeSpan.Zero, TimeSpan.Zero);

        Assert.Null(policy.NextRetryDelay());
        Assert.False(policy.HasMemory);
        Assert.Equal(0, policy.ConsecutiveFailures);

        policy.StartCooldown(new ModelLoadException("m", "src", "boom"));
        Assert.True(policy.HasMemory);
        Assert.True(policy.TryGetCooldownFailure(out _));
    }

    [Fact]
    public void First_failures_on_many_threads_at_once_make_one_state_that_counts_every_failure()
    {
        int lostFailures = 0;
        int lostCooldowns = 0;
        for (int trial = 0; trial < Trials; trial++)
        {
            var policy = new FailSafePolicy(_time, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
            using var start = new Barrier(Threads);
            var threads = new Thread[Threads];
            for (int t = 0; t < Threads; t++)
            {
                // Each thread's first call makes the state if no other thread's did: a state made twice would lose the
                // failures and the cool-down counted in the one dropped.
                bool cooldownFirst = t % 2 == 0;
                threads[t] = new Thread(() =>
                {
                    start.SignalAndWait();
                    if (cooldownFirst)
                    {
                        policy.StartCooldown(new ModelLoadException("m", "src", "boom"));
                    }

                    for (int i = 0; i < FailuresPerThread; i++)
                    {
                        policy.NextRetryDelay();
                    }
                });
                threads[t].Start();
            }

            foreach (Thread thread in threads)
            {
                Assert.True(thread.Join(TimeSpan.FromSeconds(60)), "a failing thread ended");
            }

            lostFailures += policy.ConsecutiveFailures == Threads * FailuresPerThread ? 0 : 1;
            lostCooldowns += policy.TryGetCooldownFailure(out _) ? 0 : 1;
        }

        Assert.Equal(0, lostFailures);
        Assert.Equal(0, lostCooldowns);
    }

    [Fact]
    public void A_dropped_models_failure_is_kept_in_the_state_it_makes()
    {
        var policy = new FailSafePolicy(_time, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);
        Assert.Null(policy.DroppedFailure);
        Assert.False(policy.HasMemory);

        var failure = new ModelLoadException("tenant-1", "src", "no such tenant");
        policy.Drop(failure);

        Assert.True(policy.HasMemory);
        Assert.Same(failure, policy.DroppedFailure);
    }

    [Fact]
    public void The_same_values_on_the_same_clock_are_one_settings_object_and_other_values_or_clocks_another()
    {
        FailSafeSettings first = FailSafeSettings.Of(_time, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));

        Assert.Same(first, FailSafeSettings.Of(_time, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)));
        Assert.NotSame(first, FailSafeSettings.Of(_time, TimeSpan.FromSeconds(6), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)));
        Assert.NotSame(first, FailSafeSettings.Of(new FakeTimeProvider(), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)));
        Assert.NotSame(first, FailSafeSettings.Of(_time, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), random: () => 0.5));
        Assert.Equal((TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)), (first.Cooldown, first.RetryBaseDelay, first.RetryMaxDelay));
        Assert.Same(_time, first.TimeProvider);
    }
}
