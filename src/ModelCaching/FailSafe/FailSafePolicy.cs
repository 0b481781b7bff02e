using System.Diagnostics.CodeAnalysis;

namespace ModelCaching.FailSafe;

/// <summary>
/// What a failed load leaves behind: the content known to be bad (skipped by automatic reloads until it changes), the
/// retry backoff with jitter, and the cool-down during which a model with nothing serving answers at once instead of
/// loading again. Thread-safe; it decides, the cache acts.
/// </summary>
/// <remarks>
/// Only content can be bad content: the cache rejects a hash only for a failure the content caused
/// (<see cref="ContentFault"/>), and content that has served is never rejected by a failed load (it proved loadable and
/// valid; failing now is the environment's doing), only by an explicit rollback away from it.
/// </remarks>
internal sealed class FailSafePolicy
{
    /// <summary>How many rejected content hashes are remembered (oldest forgotten first).</summary>
    public const int RejectedHashLimit = 32;

    /// <summary>How many content hashes that served are remembered (oldest forgotten first).</summary>
    public const int ServedHashLimit = 32;

    private readonly Lock _gate = new();
    private readonly List<(string Hash, string Cause)> _rejected = [];
    private readonly List<string> _served = [];
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

    /// <summary>
    /// Remembers content whose load failed because of the content, so automatic reloads skip it; content that has
    /// served is not remembered.
    /// </summary>
    /// <returns><see langword="false"/> when the content has served and so was not rejected.</returns>
    public bool Reject(string hash, string cause)
    {
        lock (_gate)
        {
            if (_served.Contains(hash))
            {
                return false;
            }

            RejectLocked(hash, cause);
            return true;
        }
    }

    /// <summary>
    /// Remembers the version an explicit rollback went back from (it has served), so automatic reloads do not pick it
    /// up again until it changes.
    /// </summary>
    public void RejectRolledBack(string hash, string cause)
    {
        lock (_gate)
        {
            RejectLocked(hash, cause);
        }
    }

    /// <summary>Content now serves: it is not bad content (a rejection from a rollback is forgotten), and no failed load will say it is.</summary>
    public void OnServed(string? hash)
    {
        if (hash is null)
        {
            return;
        }

        lock (_gate)
        {
            _rejected.RemoveAll(rejected => rejected.Hash == hash);
            if (!_served.Contains(hash))
            {
                if (_served.Count == ServedHashLimit)
                {
                    _served.RemoveAt(0);
                }

                _served.Add(hash);
            }
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

    private void RejectLocked(string hash, string cause)
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
