using ModelCaching.Reload;

namespace ModelCaching.Redis.Instance;

/// <summary>
/// What one instance knows about one fleet model: the desired version it accepted last (kept while Redis is down or
/// restarted empty), a refusal, and the signal that makes the model's cache reload.
/// </summary>
internal sealed class FleetModelEntry(string name)
{
    private const int RememberedVersions = 32;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, string> _versionBySha = new(StringComparer.OrdinalIgnoreCase);
    private FleetDesiredVersion? _accepted;
    private string? _refusal;
    private string? _refusedVersionId;
    private bool _missing;

    public string Name { get; } = name;

    /// <summary>Fires the model's change token: the cache reloads, and its fetch reads the desired version.</summary>
    public ChangeSignal Signal { get; } = new();

    /// <summary>The cache whose <see cref="IModelCache.Reloaded"/> the agent listens to, once it exists.</summary>
    public IModelCache? Cache { get; set; }

    public FleetDesiredVersion? Accepted
    {
        get
        {
            lock (_gate)
            {
                return _accepted;
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

    /// <summary>Takes in what Redis holds now; returns what the model should serve and what changed.</summary>
    /// <param name="desired">The record Redis holds, or <see langword="null"/> when it holds none.</param>
    /// <param name="refusal">Why the record may not be loaded (its signature), or <see langword="null"/>.</param>
    public (FleetDesiredVersion? Target, AcceptOutcome Outcome) Accept(FleetDesiredVersion? desired, string? refusal)
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
            if (refusal is not null)
            {
                bool newlyRefused = _refusedVersionId != desired.Version.VersionId || _refusal != refusal;
                _refusal = refusal;
                _refusedVersionId = desired.Version.VersionId;
                return (_accepted, newlyRefused ? AcceptOutcome.NewlyRefused : AcceptOutcome.Unchanged);
            }

            _refusal = null;
            _refusedVersionId = null;
            _accepted = desired;
            if (_versionBySha.Count >= RememberedVersions)
            {
                _versionBySha.Clear();
            }

            _versionBySha[desired.Version.Sha256] = desired.Version.VersionId;
            return (desired, AcceptOutcome.Accepted);
        }
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
