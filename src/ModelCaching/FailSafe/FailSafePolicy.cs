using System.Diagnostics.CodeAnalysis;

namespace ModelCaching.FailSafe;

/// <summary>
/// What a failed load leaves behind: the content known to be bad (skipped by automatic reloads until it changes), the
/// retry backoff with jitter, and the cool-down during which a model with nothing serving answers at once instead of
/// loading again. Thread-safe; it decides, the cache acts.
/// </summary>
internal sealed class FailSafePolicy
{
    /// <summary>How many rejected content hashes are remembered (oldest forgotten first).</summary>
    public const int RejectedHashLimit = 32;

    private readonly Lock _gate = new();
    private readonly List<(string Hash, string Cause)> _rejected = [];
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _cooldown;
    private readonly TimeSpan _retryBaseDelay;
    private readonly TimeSpan _retryMaxDelay;
    private readonly Func<double> _random;
    private int _consecutiveFailures;
    private ModelLoadException? _lastFailure;
    private long _retryNotBefore;

    // random: A source of numbers in [0, 1) for the jitter; <see cref="Random.Shared"/> by default (tests pass a fixed one).
    public FailSafePolicy(TimeProvider timeProvider, TimeSpan cooldown, TimeSpan retryBaseDelay, TimeSpan retryMaxDelay, Func<double>? random = null)
    {
        _timeProvider = timeProvider;
        _cooldown = cooldown;
        _retryBaseDelay = retryBaseDelay;
        _retryMaxDelay = retryMaxDelay;
        _random = random ?? Random.Shared.NextDouble;
    }

    /// <summary>Failures in a row since the last success.</summary>
    public int ConsecutiveFailures
    {
        get
        {
            lock (_gate)
            {
                return _consecutiveFailures;
            }
        }
    }

    /// <summary>The failure of the last load when nothing serves, for <see cref="TryGetCooldownFailure"/>.</summary>
    public ModelLoadException? LastFailure
    {
        get
        {
            lock (_gate)
            {
                return _lastFailure;
            }
        }
    }

    /// <summary>Remembers content that failed to load (or was rolled back from), so automatic reloads skip it.</summary>
    public void Reject(string hash, string cause)
    {
        lock (_gate)
        {
            if (IsRejectedLocked(hash, out _))
            {
                return;
            }

            if (_rejected.Count == RejectedHashLimit)
            {
                _rejected.RemoveAt(0);
            }

            _rejected.Add((hash, cause));
        }
    }

    public bool IsRejected(string hash, [NotNullWhen(true)] out string? cause)
    {
        lock (_gate)
        {
            return IsRejectedLocked(hash, out cause);
        }
    }

    /// <summary>A load succeeded (or found its content unchanged): the failure streak and the cool-down end.</summary>
    public void OnSuccess()
    {
        lock (_gate)
        {
            _consecutiveFailures = 0;
            _lastFailure = null;
        }
    }

    /// <summary>A load failed with nothing serving: callers within the cool-down get this failure at once.</summary>
    public void StartCooldown(ModelLoadException failure)
    {
        lock (_gate)
        {
            _lastFailure = failure;
            _retryNotBefore = _timeProvider.GetTimestamp() + (long)(_cooldown.TotalSeconds * _timeProvider.TimestampFrequency);
        }
    }

    /// <summary>Within the cool-down after a failure with nothing serving: the failure to answer with (a fresh exception each time).</summary>
    public bool TryGetCooldownFailure([NotNullWhen(true)] out ModelLoadException? failure)
    {
        lock (_gate)
        {
            if (_lastFailure is { } last && _timeProvider.GetTimestamp() < _retryNotBefore)
            {
                failure = new ModelLoadException(last.ModelName, last.Source, last.Cause, last.InnerException);
                return true;
            }
        }

        failure = null;
        return false;
    }

    /// <summary>
    /// The delay before the next retry: the base delay doubled per failure in a row, capped, with ±20% jitter so a fleet
    /// spreads out. <see langword="null"/> when retries are off.
    /// </summary>
    public TimeSpan? NextRetryDelay()
    {
        if (_retryBaseDelay == TimeSpan.Zero)
        {
            return null;
        }

        int attempt;
        lock (_gate)
        {
            attempt = ++_consecutiveFailures;
        }

        // Hand-written rather than a Polly retry: the attempts are independent background loads scheduled between
        // requests (the cache serves meanwhile, and a change event may load sooner), not a loop inside one call,
        // which is what a Polly retry strategy runs.
        double exponential = _retryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 30));
        double capped = Math.Min(exponential, _retryMaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.8 + (0.4 * _random())));
    }

    /// <summary>The model was unloaded: a later failure starts a new streak.</summary>
    public void ResetStreak()
    {
        lock (_gate)
        {
            _consecutiveFailures = 0;
        }
    }

    private bool IsRejectedLocked(string hash, [NotNullWhen(true)] out string? cause)
    {
        foreach ((string rejected, string why) in _rejected)
        {
            if (rejected == hash)
            {
                cause = why;
                return true;
            }
        }

        cause = null;
        return false;
    }
}
