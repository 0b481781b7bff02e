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

    // The clock, cool-down and retry delays: one object for the models with the same values (a template's names).
    private readonly FailSafeSettings _settings;

    // Made at the first failure or served content hash, with the failure streak: a model that loads once from a factory
    // never needs it, and its policy is these two references (issue 18: what a known name costs).
    private FailSafeMemory? _memory;

    // random: A source of numbers in [0, 1) for the jitter; <see cref="Random.Shared"/> by default (tests pass a fixed one).
    public FailSafePolicy(TimeProvider timeProvider, TimeSpan cooldown, TimeSpan retryBaseDelay, TimeSpan retryMaxDelay, Func<double>? random = null)
    {
        _settings = FailSafeSettings.Of(timeProvider, cooldown, retryBaseDelay, retryMaxDelay, random);
    }

    /// <summary>Whether anything is remembered yet (a failure, a rejected or a served content hash); for tests of its cost.</summary>
    internal bool HasMemory => Volatile.Read(ref _memory) is not null;

    /// <summary>Failures in a row since the last success.</summary>
    public int ConsecutiveFailures => Volatile.Read(ref _memory) is { } memory ? Volatile.Read(ref memory.ConsecutiveFailures) : 0;

    /// <summary>The failure of the last load when nothing serves, for <see cref="TryGetCooldownFailure"/>.</summary>
    public ModelLoadException? LastFailure
    {
        get
        {
            if (Volatile.Read(ref _memory) is not { } memory)
            {
                return null;
            }

            lock (memory)
            {
                return memory.LastFailure;
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
        FailSafeMemory memory = Memory();
        lock (memory)
        {
            if (memory.Served?.Contains(hash) == true)
            {
                return false;
            }

            memory.Reject(hash, cause);
            return true;
        }
    }

    /// <summary>
    /// Remembers the version an explicit rollback went back from (it has served), so automatic reloads do not pick it
    /// up again until it changes.
    /// </summary>
    public void RejectRolledBack(string hash, string cause)
    {
        FailSafeMemory memory = Memory();
        lock (memory)
        {
            memory.Reject(hash, cause);
            List<string> rolledBack = memory.RolledBack ??= new(capacity: 1);
            if (!rolledBack.Contains(hash))
            {
                if (rolledBack.Count == RejectedHashLimit)
                {
                    rolledBack.RemoveAt(0);
                }

                rolledBack.Add(hash);
            }
        }
    }

    /// <summary>Whether a rollback went back from <paramref name="hash"/> (and it has not served since): an explicit reload of it needs force.</summary>
    public bool IsRolledBack(string hash)
    {
        if (Volatile.Read(ref _memory) is not { } memory)
        {
            return false;
        }

        lock (memory)
        {
            return memory.RolledBack?.Contains(hash) == true;
        }
    }

    /// <summary>A forced reload: the versions rolled back from are no longer held back (returned, for the load history).</summary>
    public string[] ForgetRolledBack()
    {
        if (Volatile.Read(ref _memory) is not { } memory)
        {
            return [];
        }

        lock (memory)
        {
            string[] forgotten = [.. memory.RolledBack ?? []];
            memory.RolledBack = null;
            memory.Rejected?.RemoveAll(rejected => Array.IndexOf(forgotten, rejected.Hash) >= 0);
            return forgotten;
        }
    }

    /// <summary>Content now serves: it is not bad content (a rejection from a rollback is forgotten), and no failed load will say it is.</summary>
    public void OnServed(string? hash)
    {
        if (hash is null)
        {
            return;
        }

        FailSafeMemory memory = Memory();
        lock (memory)
        {
            memory.Rejected?.RemoveAll(rejected => rejected.Hash == hash);
            memory.RolledBack?.Remove(hash);
            List<string> served = memory.Served ??= new(capacity: 1);
            if (!served.Contains(hash))
            {
                if (served.Count == ServedHashLimit)
                {
                    served.RemoveAt(0);
                }

                served.Add(hash);
            }
        }
    }

    public bool IsRejected(string hash, [NotNullWhen(true)] out string? cause)
    {
        if (Volatile.Read(ref _memory) is not { } memory)
        {
            cause = null;
            return false;
        }

        lock (memory)
        {
            return memory.IsRejected(hash, out cause);
        }
    }

    /// <summary>The failure a template's model was dropped with after its first load failed (it is not kept), or <see langword="null"/>.</summary>
    public ModelLoadException? DroppedFailure => Volatile.Read(ref _memory) is { } memory ? Volatile.Read(ref memory.DroppedFailure) : null;

    /// <summary>A template's model is dropped after its first load failed with <paramref name="failure"/>: callers of the disposed cache get it.</summary>
    public void Drop(ModelLoadException failure) => Volatile.Write(ref Memory().DroppedFailure, failure);

    /// <summary>A load succeeded (or found its content unchanged): the failure streak and the cool-down end.</summary>
    public void OnSuccess()
    {
        if (Volatile.Read(ref _memory) is { } memory)
        {
            Volatile.Write(ref memory.ConsecutiveFailures, 0);
            lock (memory)
            {
                memory.LastFailure = null;
            }
        }
    }

    /// <summary>A load failed with nothing serving: callers within the cool-down get this failure at once.</summary>
    public void StartCooldown(ModelLoadException failure)
    {
        FailSafeMemory memory = Memory();
        lock (memory)
        {
            memory.LastFailure = failure;
            TimeProvider clock = _settings.TimeProvider;
            memory.RetryNotBefore = clock.GetTimestamp() + (long)(_settings.Cooldown.TotalSeconds * clock.TimestampFrequency);
        }
    }

    /// <summary>Within the cool-down after a failure with nothing serving: the failure to answer with (a fresh exception each time).</summary>
    public bool TryGetCooldownFailure([NotNullWhen(true)] out ModelLoadException? failure)
    {
        if (Volatile.Read(ref _memory) is { } memory)
        {
            lock (memory)
            {
                if (memory.LastFailure is { } last && _settings.TimeProvider.GetTimestamp() < memory.RetryNotBefore)
                {
                    failure = last.WithCause(last.Cause);
                    return true;
                }
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
        FailSafeSettings settings = _settings;
        if (settings.RetryBaseDelay == TimeSpan.Zero)
        {
            return null;
        }

        int attempt = Interlocked.Increment(ref Memory().ConsecutiveFailures);

        // Hand-written rather than a Polly retry: the attempts are independent background loads scheduled between
        // requests (the cache serves meanwhile, and a change event may load sooner), not a loop inside one call,
        // which is what a Polly retry strategy runs.
        double exponential = settings.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 30));
        double capped = Math.Min(exponential, settings.RetryMaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.8 + (0.4 * (settings.Random?.Invoke() ?? Random.Shared.NextDouble()))));
    }

    /// <summary>The model was unloaded: a later failure starts a new streak.</summary>
    public void ResetStreak()
    {
        if (Volatile.Read(ref _memory) is { } memory)
        {
            Volatile.Write(ref memory.ConsecutiveFailures, 0);
        }
    }

    // The first failure (or served content hash) makes the memory: concurrent first calls keep one, the others' is dropped.
    private FailSafeMemory Memory() =>
        Volatile.Read(ref _memory) ?? Interlocked.CompareExchange(ref _memory, new FailSafeMemory(), null) ?? _memory!;
}
