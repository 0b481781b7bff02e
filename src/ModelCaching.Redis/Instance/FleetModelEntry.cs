using ModelCaching.Reload;

namespace ModelCaching.Redis.Instance;

/// <summary>
/// What one instance knows about one fleet model: the desired record it accepted last (and its revision, below which it
/// accepts none), the version it accepted as its target (kept while Redis is down or restarted empty), a refusal, the version a fetch is loading, a load waiting for its share
/// of the jitter, and the signal that makes the model's cache reload.
/// </summary>
internal sealed class FleetModelEntry(string name)
{
    private const int RememberedVersions = 32;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, string> _versionBySha = new(StringComparer.OrdinalIgnoreCase);
    private FleetVersion? _accepted;
    private FleetDesiredVersion? _record;
    private string? _fetching;
    private ITimer? _pendingLoad;
    private string? _refusal;
    private string? _refused;
    private long _revision;
    private bool _missing;
    private bool _acceptedAsCanary;
    private FleetVersion? _canaryTakenBack;

    public string Name { get; } = name;

    /// <summary>Fires the model's change token: the cache reloads, and its fetch reads the desired version.</summary>
    public ChangeSignal Signal { get; } = new();

    /// <summary>How many fleet sources hold the entry (changed only under <see cref="FleetModels"/>' lock).</summary>
    public int Holders { get; set; }

    /// <summary>The cache whose <see cref="IModelCache.Reloaded"/> the agent listens to, once it exists.</summary>
    public IModelCache? Cache { get; set; }

    /// <summary>The version this instance should serve, as it last accepted it, or <see langword="null"/>.</summary>
    public FleetVersion? Accepted
    {
        get
        {
            lock (_gate)
            {
                return _accepted;
            }
        }
    }

    /// <summary>The desired record as last accepted (with its rollout), or <see langword="null"/>.</summary>
    public FleetDesiredVersion? Record
    {
        get
        {
            lock (_gate)
            {
                return _record;
            }
        }
    }

    /// <summary>Why the newest desired record was refused, or <see langword="null"/>.</summary>
    public string? Refusal
    {
        get
        {
            lock (_gate)
            {
                return _refusal;
            }
        }
    }

    /// <summary>
    /// The canary version this instance took and may serve no more, with no fleet version to go back to (a rollout with no
    /// Previous, aborted, stopped or replaced): it goes back to its own source. <see langword="null"/> otherwise.
    /// </summary>
    public FleetVersion? CanaryTakenBack
    {
        get
        {
            lock (_gate)
            {
                return _canaryTakenBack;
            }
        }
    }

    /// <summary>Whether Redis lost the desired record this instance had accepted (restarted empty).</summary>
    public bool Missing
    {
        get
        {
            lock (_gate)
            {
                return _missing;
            }
        }
    }

    /// <summary>The revision of the newest desired record this instance accepted (0 before the first).</summary>
    public long Revision
    {
        get
        {
            lock (_gate)
            {
                return _revision;
            }
        }
    }

    /// <summary>
    /// Takes in what Redis holds now; returns what the model should serve and what changed. A refused record (its
    /// signature, or a revision lower than one accepted before: <see cref="RevisionRefusal"/>) changes nothing the
    /// instance acts on: neither its target nor the rollout it follows.
    /// </summary>
    /// <param name="desired">The record Redis holds, or <see langword="null"/> when it holds none.</param>
    /// <param name="target">The version this instance should serve under it (<see cref="Rollouts.TargetFor"/>), or <see langword="null"/> for "keep what it has".</param>
    /// <param name="refusal">Why the record may not be followed (its signature, or its target's), or <see langword="null"/>.</param>
    public (FleetVersion? Target, AcceptOutcome Outcome) Accept(FleetDesiredVersion? desired, FleetVersion? target, string? refusal)
    {
        lock (_gate)
        {
            if (desired is null)
            {
                bool newlyMissing = _accepted is not null && !_missing;
                _missing = _accepted is not null;
                return (_accepted, newlyMissing ? AcceptOutcome.NewlyMissing : AcceptOutcome.Unchanged);
            }

            _missing = false;
            if ((refusal ?? RevisionRefusal(desired, _revision, _record?.Signature)) is { } why)
            {
                string refused = $"{desired.Revision}\n{desired.Version.VersionId}\n{why}";
                bool newlyRefused = _refused != refused;
                _refusal = why;
                _refused = refused;
                return (_accepted, newlyRefused ? AcceptOutcome.NewlyRefused : AcceptOutcome.Unchanged);
            }

            _refusal = null;
            _refused = null;
            _record = desired;
            _revision = desired.Revision;
            if (target is null)
            {
                // A rollout with no Previous (nothing was published before it) that gives this instance no version: the
                // fleet at large serves its own sources. A canary's version (its rollout aborted, stopped or replaced
                // since) goes back to its own source too; a stable version stays (Redis restarted empty, then a rollout).
                if (_accepted is not null && _acceptedAsCanary)
                {
                    _canaryTakenBack = _accepted;
                    _accepted = null;
                    _acceptedAsCanary = false;
                    return (null, AcceptOutcome.Accepted);
                }

                return (_accepted, AcceptOutcome.Unchanged);
            }

            _accepted = target;
            _acceptedAsCanary = desired.Rollout is { Stage: FleetRolloutStage.Canary } && target.VersionId == desired.Version.VersionId;
            _canaryTakenBack = null;
            if (_versionBySha.Count >= RememberedVersions)
            {
                _versionBySha.Clear();
            }

            _versionBySha[target.Sha256] = target.VersionId;
            return (target, AcceptOutcome.Accepted);
        }
    }

    /// <summary>
    /// The replay rule: a record whose revision is lower than the one accepted is refused, and so is another signed record
    /// of the same revision (the same record read again passes). Returns why, or <see langword="null"/>.
    /// </summary>
    public static string? RevisionRefusal(FleetDesiredVersion desired, long acceptedRevision, string? acceptedSignature)
    {
        if (desired.Revision < acceptedRevision)
        {
            return $"the desired record's revision {desired.Revision} is older than revision {acceptedRevision}, which this instance accepted already: an older record was written back (replayed, or Redis restored from an old snapshot)";
        }

        return desired.Revision == acceptedRevision && acceptedSignature is not null && desired.Signature != acceptedSignature
            ? $"the desired record has revision {desired.Revision}, as the other record this instance accepted already: one of them was written back (replayed), or two writers' clocks collided"
            : null;
    }

    /// <summary>Notes the fleet version a fetch is about to read (or <see langword="null"/>: the model's own source), for the load's record.</summary>
    public void Fetching(string? versionId) => Volatile.Write(ref _fetching, versionId);

    /// <summary>The fleet version the load that just ended had fetched, once.</summary>
    public string? TakeFetched() => Interlocked.Exchange(ref _fetching, null);

    /// <summary>
    /// Fires <see cref="Signal"/> after <paramref name="delay"/> on <paramref name="time"/>, unless a load is waiting
    /// already (its fetch reads the newest desired version when it runs).
    /// </summary>
    public void ScheduleLoad(TimeProvider time, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Signal.Fire();
            return;
        }

        lock (_gate)
        {
            if (_pendingLoad is not null)
            {
                return;
            }

            _pendingLoad = time.CreateTimer(static state => ((FleetModelEntry)state!).RunScheduledLoad(), this, delay, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Whether a load waits for its share of the jitter.</summary>
    public bool LoadScheduled
    {
        get
        {
            lock (_gate)
            {
                return _pendingLoad is not null;
            }
        }
    }

    /// <summary>Drops a waiting load (the agent stops).</summary>
    public void CancelScheduledLoad()
    {
        lock (_gate)
        {
            _pendingLoad?.Dispose();
            _pendingLoad = null;
        }
    }

    private void RunScheduledLoad()
    {
        lock (_gate)
        {
            _pendingLoad?.Dispose();
            _pendingLoad = null;
        }

        Signal.Fire();
    }

    /// <summary>The fleet version id of content this instance took from the fleet, or <c>local:{12 hex digits}</c>.</summary>
    public string VersionIdOf(string sha256)
    {
        lock (_gate)
        {
            return _versionBySha.TryGetValue(sha256, out string? id) ? id : $"local:{sha256[..Math.Min(12, sha256.Length)]}";
        }
    }
}

/// <summary>What <see cref="FleetModelEntry.Accept"/> changed.</summary>
internal enum AcceptOutcome
{
    Unchanged,
    Accepted,
    NewlyRefused,
    NewlyMissing,
}
