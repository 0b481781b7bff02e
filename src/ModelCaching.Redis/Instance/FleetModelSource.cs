using Microsoft.Extensions.Primitives;
using ModelCaching.Loading;

namespace ModelCaching.Redis.Instance;

/// <summary>
/// Wraps a fleet model's own source. A fetch returns the bytes of the fleet's desired version, with that version's
/// SHA-256 as the artifact's expected hash (the cache's integrity step checks it before the loader sees a byte) and its
/// id as the ETag; a model already serving that content reads nothing. With no version published (or none this instance
/// may load yet) the model's own source serves, if it has one. The change token fires on the fleet's signal and on the
/// own source's changes. It is told how each load ended (<see cref="ILoadRecordObserver"/>), so the agent reports a failure
/// at once and a canary's failure stops its rollout.
/// </summary>
internal sealed class FleetModelSource : IModelSource, ILoadRecordObserver, IDisposable
{
    private readonly IModelSource? _inner;
    private readonly bool _ownsInner;
    private readonly FleetAgent _agent;
    private readonly FleetContentReader _reader;
    private readonly FleetModelEntry? _entry;
    private readonly InstancePlacement? _placement;
    private readonly string _name;
    private int _disposed;

    // covered: whether the model follows the fleet (RedisFleetOptions.Models); one that does not only passes through to
    // its own source and does not join. placement: set for a model of a placed template (a load of a name this instance
    // does not own is refused before anything is read).
    public FleetModelSource(string modelName, bool covered, IModelSource? inner, bool ownsInner, FleetAgent agent, FleetContentReader reader, InstancePlacement? placement = null)
    {
        _name = modelName;
        _placement = placement;
        placement?.Track(modelName);
        _inner = inner;
        _ownsInner = ownsInner;
        _agent = agent;
        _reader = reader;
        _entry = covered ? agent.Join(modelName) : null;
        Description = covered
            ? $"fleet '{agent.Settings.FleetName}'" + (inner is null ? string.Empty : $" (else {inner.Description})")
            : inner?.Description ?? "no source";
    }

    public string Description { get; }

    /// <summary>The model's own source, when it has one.</summary>
    public IModelSource? Inner => _inner;

    public async ValueTask<ModelArtifact?> FetchAsync(ModelFetchContext context, CancellationToken cancellationToken)
    {
        if (_placement is not null)
        {
            // A name released to its new owners (or never owned) loads no more here: the caller gets the owners (421).
            _ = _agent.StartAsync();
            _placement.EnsureOwned(_name);
        }

        if (_entry is null)
        {
            return await FetchInnerAsync(context, cancellationToken).ConfigureAwait(false);
        }

        _ = _agent.StartAsync(); // Apps without a host start the fleet with their first load.

        // A model made from a template after the desired record was published (it waited in Redis) loads it now: the
        // fetch reads the record, whatever the model's own source holds.
        FleetVersion? version = await _agent.ResolveForFetchAsync(_entry, cancellationToken).ConfigureAwait(false);
        _entry.Fetching(version?.VersionId);
        if (version is null)
        {
            return await FetchInnerAsync(context, cancellationToken).ConfigureAwait(false);
        }

        if (context.Current is { } current && string.Equals(current.Id, version.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            return null; // Already serving it: nothing is read.
        }

        byte[] content = await _reader.ReadAsync(version, context.MaxArtifactBytes, cancellationToken).ConfigureAwait(false);
        return new ModelArtifact(content, $"fleet '{_agent.Settings.FleetName}' {version.Model}@{version.VersionId}", etag: version.VersionId, lastModified: version.PublishedAt, expectedSha256: version.Sha256);
    }

    public IChangeToken? GetChangeToken()
    {
        IChangeToken? own = _inner?.GetChangeToken();
        if (_entry is null)
        {
            return own;
        }

        IChangeToken fleet = _entry.Signal.GetToken();
        return own is not null ? new CompositeChangeToken([fleet, own]) : fleet;
    }

    void ILoadRecordObserver.OnRecorded(ModelLoadRecord record)
    {
        if (_placement is not null)
        {
            _agent.RequestReportSoon(); // the entry's list of loaded placed models changed
        }

        if (_entry is not null)
        {
            _agent.OnLoadRecorded(_entry, record);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_entry is not null)
        {
            _agent.Leave(_entry); // a template's model that is dropped (its first load failed) is no longer reported
        }

        _placement?.Untrack(_name);

        if (_ownsInner)
        {
            (_inner as IDisposable)?.Dispose();
        }
    }

    private ValueTask<ModelArtifact?> FetchInnerAsync(ModelFetchContext context, CancellationToken cancellationToken) =>
        _inner?.FetchAsync(context, cancellationToken)
        ?? throw new InvalidOperationException($"nothing is published for model '{context.ModelName}' in fleet '{_agent.Settings.FleetName}' (or nothing this instance may load), and the model has no source of its own");
}
