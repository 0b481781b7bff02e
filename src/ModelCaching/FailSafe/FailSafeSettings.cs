using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace ModelCaching.FailSafe;

/// <summary>
/// What a <see cref="FailSafePolicy"/> is told once and never changes: the clock, the cool-down, the retry delays and the
/// jitter's random source. One object for all the models with the same values on the same clock (every name of a
/// template, as a rule), not four fields in each model's policy (issue 18: what a known name costs).
/// </summary>
internal sealed class FailSafeSettings
{
    // The settings made so far, per clock: let go with the clock (a test's fake one), bounded by the distinct values of
    // the options (a template's names all share theirs). A weak table and a dictionary rather than a hand-made cache.
    private static readonly ConditionalWeakTable<TimeProvider, ConcurrentDictionary<(TimeSpan Cooldown, TimeSpan RetryBaseDelay, TimeSpan RetryMaxDelay), FailSafeSettings>> s_made = new();

    private FailSafeSettings(TimeProvider timeProvider, TimeSpan cooldown, TimeSpan retryBaseDelay, TimeSpan retryMaxDelay, Func<double>? random)
    {
        TimeProvider = timeProvider;
        Cooldown = cooldown;
        RetryBaseDelay = retryBaseDelay;
        RetryMaxDelay = retryMaxDelay;
        Random = random;
    }

    public TimeProvider TimeProvider { get; }

    public TimeSpan Cooldown { get; }

    public TimeSpan RetryBaseDelay { get; }

    public TimeSpan RetryMaxDelay { get; }

    /// <summary>A source of numbers in [0, 1) for the jitter; <see langword="null"/>: <see cref="System.Random.Shared"/>.</summary>
    public Func<double>? Random { get; }

    /// <summary>
    /// The settings of these values: the same object as every earlier call with the same values and clock got, unless
    /// <paramref name="random"/> is given (tests pass one of their own; no two are taken to be equal).
    /// </summary>
    public static FailSafeSettings Of(TimeProvider timeProvider, TimeSpan cooldown, TimeSpan retryBaseDelay, TimeSpan retryMaxDelay, Func<double>? random = null)
    {
        if (random is not null)
        {
            return new FailSafeSettings(timeProvider, cooldown, retryBaseDelay, retryMaxDelay, random);
        }

        return s_made.GetValue(timeProvider, static _ => new())
            .GetOrAdd((cooldown, retryBaseDelay, retryMaxDelay), static (key, clock) => new FailSafeSettings(clock, key.Cooldown, key.RetryBaseDelay, key.RetryMaxDelay, random: null), timeProvider);
    }
}
