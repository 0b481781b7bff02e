using Microsoft.Extensions.Time.Testing;
using ModelCaching.FailSafe;

namespace ModelCaching.Tests.FailSafe;

/// <summary><see cref="FailSafePolicy"/> on its own: backoff with jitter, cool-down and known-bad content.</summary>
public sealed class FailSafePolicyTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Backoff_doubles_per_failure_in_a_row_and_is_capped_at_the_max_delay()
    {
        var policy = new FailSafePolicy(_time, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), random: () => 0.5);

        TimeSpan?[] delays = [policy.NextRetryDelay(), policy.NextRetryDelay(), policy.NextRetryDelay(), policy.NextRetryDelay(), policy.NextRetryDelay()];

        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5)], delays);
        Assert.Equal(5, policy.ConsecutiveFailures);
    }

    [Fact]
    public void Jitter_of_zero_gives_eight_tenths_of_the_delay()
    {
        var policy = new FailSafePolicy(_time, TimeSpan.Zero, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(1), random: () => 0.0);

        Assert.Equal(TimeSpan.FromSeconds(8), policy.NextRetryDelay());
    }

    [Fact]
    public void Jitter_near_one_gives_about_twelve_tenths_of_the_delay()
    {
        var policy = new FailSafePolicy(_time, TimeSpan.Zero, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(1), random: () => 0.999);

        TimeSpan delay = policy.NextRetryDelay()!.Value;

        Assert.InRange(delay.TotalMilliseconds, 11_990, 12_000);
    }

    [Fact]
    public void Jitter_applies_to_the_capped_delay_too()
    {
        var policy = new FailSafePolicy(_time, TimeSpan.Zero, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10), random: () => 0.0);
        policy.NextRetryDelay();

        Assert.Equal(TimeSpan.FromSeconds(8), policy.NextRetryDelay());
    }

    [Fact]
    public void Retries_are_off_when_the_base_delay_is_zero_and_failures_are_then_not_counted()
    {
        var policy = new FailSafePolicy(_time, TimeSpan.FromSeconds(5), TimeSpan.Zero, TimeSpan.FromSeconds(5), random: () => 0.5);

        Assert.Null(policy.NextRetryDelay());
        Assert.Equal(0, policy.ConsecutiveFailures);
    }

    [Fact]
    public void OnSuccess_and_ResetStreak_start_the_backoff_again_from_the_base_delay()
    {
        var policy = new FailSafePolicy(_time, TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), random: () => 0.5);
        policy.NextRetryDelay();
        policy.NextRetryDelay();

        policy.OnSuccess();
        Assert.Equal(TimeSpan.FromSeconds(1), policy.NextRetryDelay());

        policy.NextRetryDelay();
        policy.ResetStreak();
        Assert.Equal(0, policy.ConsecutiveFailures);
        Assert.Equal(TimeSpan.FromSeconds(1), policy.NextRetryDelay());
    }

    [Fact]
    public void Cooldown_answers_with_a_fresh_exception_each_time_only_within_the_cooldown()
    {
        var policy = new FailSafePolicy(_time, TimeSpan.FromSeconds(10), TimeSpan.Zero, TimeSpan.Zero);
        var inner = new InvalidDataException("bad bytes");
        var original = new ModelLoadException("m", "memory:test", "the content is bad", inner);

        policy.StartCooldown(original);
        _time.Advance(TimeSpan.FromSeconds(9.9));

        Assert.True(policy.TryGetCooldownFailure(out ModelLoadException? first));
        Assert.True(policy.TryGetCooldownFailure(out ModelLoadException? second));
        Assert.NotSame(original, first);
        Assert.NotSame(first, second);
        Assert.Equal(original.Message, first.Message);
        Assert.Equal("m", first.ModelName);
        Assert.Equal("memory:test", first.Source);
        Assert.Equal("the content is bad", first.Cause);
        Assert.Same(inner, first.InnerException);
        Assert.Same(original, policy.LastFailure);

        _time.Advance(TimeSpan.FromSeconds(0.1));

        Assert.False(policy.TryGetCooldownFailure(out ModelLoadException? after));
        Assert.Null(after);
    }

    [Fact]
    public void No_cooldown_failure_before_any_failure()
    {
        var policy = new FailSafePolicy(_time, TimeSpan.FromSeconds(10), TimeSpan.Zero, TimeSpan.Zero);

        Assert.False(policy.TryGetCooldownFailure(out _));
        Assert.Null(policy.LastFailure);
    }

    [Fact]
    public void OnSuccess_ends_the_cooldown()
    {
        var policy = new FailSafePolicy(_time, TimeSpan.FromSeconds(10), TimeSpan.Zero, TimeSpan.Zero);
        policy.StartCooldown(new ModelLoadException("m", "memory:test", "bad", null));

        policy.OnSuccess();

        Assert.False(policy.TryGetCooldownFailure(out _));
        Assert.Null(policy.LastFailure);
    }

    [Fact]
    public void A_rejected_hash_is_remembered_with_its_cause()
    {
        var policy = new FailSafePolicy(_time, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);

        policy.Reject("aa", "the validator said no");

        Assert.True(policy.IsRejected("aa", out string? cause));
        Assert.Equal("the validator said no", cause);
        Assert.False(policy.IsRejected("bb", out string? other));
        Assert.Null(other);
    }

    [Fact]
    public void Rejecting_a_hash_again_keeps_its_first_cause()
    {
        var policy = new FailSafePolicy(_time, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);

        policy.Reject("aa", "first");
        policy.Reject("aa", "second");

        Assert.True(policy.IsRejected("aa", out string? cause));
        Assert.Equal("first", cause);
    }

    [Fact]
    public void The_oldest_rejected_hash_is_forgotten_after_32()
    {
        var policy = new FailSafePolicy(_time, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);
        for (int i = 0; i < FailSafePolicy.RejectedHashLimit; i++)
        {
            policy.Reject($"hash-{i}", $"cause-{i}");
        }

        Assert.True(policy.IsRejected("hash-0", out _));

        policy.Reject("hash-32", "cause-32");

        Assert.Equal(32, FailSafePolicy.RejectedHashLimit);
        Assert.False(policy.IsRejected("hash-0", out _));
        Assert.True(policy.IsRejected("hash-1", out string? cause1));
        Assert.Equal("cause-1", cause1);
        Assert.True(policy.IsRejected("hash-32", out string? cause32));
        Assert.Equal("cause-32", cause32);
    }

    [Fact]
    public void Content_that_has_served_is_not_rejected_by_a_failed_load_but_is_by_a_rollback()
    {
        var policy = new FailSafePolicy(_time, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);
        policy.OnServed("aa");

        Assert.False(policy.Reject("aa", "OutOfMemoryException"));
        Assert.False(policy.IsRejected("aa", out _));

        policy.RejectRolledBack("aa", "version aa was rolled back");
        Assert.True(policy.IsRejected("aa", out string? cause));
        Assert.Equal("version aa was rolled back", cause);
    }

    [Fact]
    public void Content_that_serves_again_is_no_longer_rejected()
    {
        var policy = new FailSafePolicy(_time, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);
        Assert.True(policy.Reject("aa", "the validator said no"));

        policy.OnServed("aa");

        Assert.False(policy.IsRejected("aa", out _));
    }

    [Fact]
    public void A_model_that_only_succeeds_without_a_content_hash_remembers_nothing_and_answers_as_before()
    {
        var policy = new FailSafePolicy(_time, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));

        policy.OnSuccess();
        policy.OnServed(null);
        policy.ResetStreak();

        Assert.False(policy.IsRejected("aa", out _));
        Assert.False(policy.TryGetCooldownFailure(out _));
        Assert.Null(policy.LastFailure);
        Assert.False(policy.HasMemory);

        policy.StartCooldown(new ModelLoadException("m", "src", "boom"));
        Assert.True(policy.HasMemory);
        Assert.True(policy.TryGetCooldownFailure(out ModelLoadException? failure));
        Assert.Equal("boom", failure.Cause);
        policy.OnSuccess();
        Assert.False(policy.TryGetCooldownFailure(out _));
    }

    [Fact]
    public void Failures_in_a_row_counted_from_every_core_at_once_are_exact()
    {
        var policy = new FailSafePolicy(_time, TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), random: static () => 0.5);
        int threads = Math.Max(2, Environment.ProcessorCount);
        const int PerThread = 10_000;

        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, thread =>
        {
            for (int i = 0; i < PerThread; i++)
            {
                Assert.NotNull(policy.NextRetryDelay());
            }
        });

        Assert.Equal(threads * PerThread, policy.ConsecutiveFailures);
    }
}
