using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using ModelCaching.Redis.Diagnostics;
using ModelCaching.Redis.Records;

namespace ModelCaching.Redis;

/// <summary>The fleet's control plane over Redis: publishes, rollbacks, pins and the status, through <see cref="FleetStore"/>.</summary>
internal sealed class ModelFleet(FleetStore store, ContentLocation locations, TimeProvider timeProvider, ILogger<ModelFleet> logger) : IModelFleet
{
    private readonly FleetSettings _settings = store.Settings;

    public string FleetName => _settings.FleetName;

    public Task<FleetVersion> PublishAsync(string modelName, ReadOnlyMemory<byte> content, FleetPublishOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        if (content.Length > _settings.MaxContentBytesInRedis)
        {
            throw new ArgumentOutOfRangeException(nameof(content), content.Length, $"Fleet '{FleetName}', model '{modelName}': {content.Length} bytes is more than RedisFleetOptions.MaxContentBytesInRedis ({_settings.MaxContentBytesInRedis}); publish it by location (PublishFileAsync or PublishLocationAsync) instead.");
        }

        string sha256 = Convert.ToHexStringLower(SHA256.HashData(content.Span));
        return PublishCoreAsync(modelName, sha256, content.Length, FleetContentStorage.Store, location: null, content, options, cancellationToken);
    }

    public async Task<FleetVersion> PublishFileAsync(string modelName, string path, FleetPublishOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string fullPath = Path.GetFullPath(path);
        long length = new FileInfo(fullPath).Length;
        FleetContentStorage storage = options?.Storage ?? (length <= _settings.MaxContentBytesInRedis ? FleetContentStorage.Store : FleetContentStorage.Location);
        if (storage == FleetContentStorage.Store)
        {
            if (length > _settings.MaxContentBytesInRedis)
            {
                throw new ArgumentOutOfRangeException(nameof(path), length, $"Fleet '{FleetName}', model '{modelName}': '{fullPath}' ({length} bytes) is larger than RedisFleetOptions.MaxContentBytesInRedis ({_settings.MaxContentBytesInRedis}); publish it by location.");
            }

            byte[] bytes = await File.ReadAllBytesAsync(fullPath, cancellationToken).ConfigureAwait(false);
            return await PublishAsync(modelName, bytes, options, cancellationToken).ConfigureAwait(false);
        }

        string sha256;
        await using (FileStream stream = File.OpenRead(fullPath))
        {
            sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
        }

        return await PublishCoreAsync(modelName, sha256, length, FleetContentStorage.Location, fullPath, content: null, options, cancellationToken).ConfigureAwait(false);
    }

    public Task<FleetVersion> PublishLocationAsync(string modelName, string location, string sha256, long sizeBytes, FleetPublishOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        ArgumentException.ThrowIfNullOrWhiteSpace(location);
        if (sha256 is not { Length: 64 } || !sha256.All(char.IsAsciiHexDigit))
        {
            throw new ArgumentException($"Fleet '{FleetName}', model '{modelName}': '{sha256}' is not a SHA-256 (64 hex digits).", nameof(sha256));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(sizeBytes);
        if (!locations.IsSupported(location))
        {
            throw new ArgumentException($"Fleet '{FleetName}', model '{modelName}': '{ContentLocation.Redact(location)}' is not a location the fleet reads: publish {locations.Accepted}. Register the same location readers in the publisher as in the instances (ModelCaching.Azure's AddAzureBlobFleetLocations reads azure-blob://container/blob).", nameof(location));
        }

        return PublishCoreAsync(modelName, sha256.ToLowerInvariant(), sizeBytes, FleetContentStorage.Location, location, content: null, options, cancellationToken);
    }

    public Task<FleetDesiredVersion> RollbackAsync(string modelName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        return ChangeAsync(modelName, FleetAction.Rollback, (desired, versions) =>
        {
            // From the version the fleet serves: in a staged rollout, the one the non-canaries stayed on. Withdrawn versions
            // are skipped: going back never lands on a version whose rollout was stopped or aborted.
            FleetVersion serving = Rollouts.Stable(desired) ?? throw NothingPublished(modelName);
            IReadOnlyList<string> withdrawn = Withdrawals.Of(desired);
            int index = IndexOf(versions, serving.VersionId);
            int older = index < 0 ? -1 : Withdrawals.OlderThan(versions, index, withdrawn);
            if (older < 0)
            {
                string skipped = index < 0 ? "" : string.Join(", ", versions.Skip(index + 1).Select(v => v.VersionId));
                throw new InvalidOperationException($"Fleet '{FleetName}', model '{modelName}': there is no version older than '{serving.VersionId}' to roll back to (the fleet keeps {_settings.VersionsKept})" + (skipped.Length == 0 ? "." : $"; the older ones ({skipped}) were withdrawn (their rollouts stopped or were aborted)."));
            }

            return NewDesired(versions[older], desired!.Pinned, FleetAction.Rollback);
        }, cancellationToken);
    }

    public Task<FleetDesiredVersion> PinAsync(string modelName, string? versionId = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        return ChangeAsync(modelName, FleetAction.Pin, (desired, versions) =>
        {
            FleetVersion? serving = Rollouts.Stable(desired);
            string id = versionId ?? serving?.VersionId ?? throw NothingPublished(modelName);
            int index = IndexOf(versions, id);
            FleetVersion version = index >= 0 ? versions[index]
                : serving?.VersionId == id ? serving
                : throw new InvalidOperationException($"Fleet '{FleetName}', model '{modelName}': version '{id}' is not one the fleet keeps ({string.Join(", ", versions.Select(v => v.VersionId))}).");
            return NewDesired(version, pinned: true, FleetAction.Pin);
        }, cancellationToken);
    }

    public Task<FleetDesiredVersion> UnpinAsync(string modelName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        return ChangeAsync(modelName, FleetAction.Unpin, (desired, versions) =>
        {
            if (versions.Count == 0)
            {
                throw NothingPublished(modelName);
            }

            // The newest version not withdrawn: one only its canaries tried (and failed, or an operator took back) does not
            // go to the whole fleet without a canary stage.
            int newest = Withdrawals.Newest(versions, Withdrawals.Of(desired));
            if (newest < 0)
            {
                throw new InvalidOperationException($"Fleet '{FleetName}', model '{modelName}': every version the fleet keeps ({string.Join(", ", versions.Select(v => v.VersionId))}) was withdrawn (its rollout stopped or was aborted), so there is none to unpin to; publish a fixed version, or pin one explicitly.");
            }

            // A rollout still at the canary stage keeps its stage: unpinning does not promote it.
            return desired is { Rollout.Stage: FleetRolloutStage.Canary } && desired.Version.VersionId == versions[newest].VersionId
                ? desired with { Pinned = false, Action = FleetAction.Unpin, ChangedBy = Publisher(), ChangedAt = timeProvider.GetUtcNow() }
                : NewDesired(versions[newest], pinned: false, FleetAction.Unpin);
        }, cancellationToken);
    }

    public Task<FleetDesiredVersion> PromoteAsync(string modelName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        return ChangeAsync(modelName, FleetAction.Promote, (desired, _) => CanaryStage(modelName, desired) with
        {
            Action = FleetAction.Promote,
            ChangedBy = Publisher(),
            ChangedAt = timeProvider.GetUtcNow(),
            Rollout = desired!.Rollout! with { Stage = FleetRolloutStage.Promoted },
        }, cancellationToken);
    }

    public Task<FleetDesiredVersion> AbortAsync(string modelName, string? reason = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        string by = Publisher();
        return ChangeAsync(modelName, FleetAction.Abort, (desired, _) => CanaryStage(modelName, desired) with
        {
            Action = FleetAction.Abort,
            ChangedBy = by,
            ChangedAt = timeProvider.GetUtcNow(),
            Rollout = desired!.Rollout! with { Stage = FleetRolloutStage.Aborted, Reason = reason ?? $"aborted by {by}" },
        }, cancellationToken);
    }

    public Task<FleetDesiredVersion?> GetDesiredVersionAsync(string modelName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        return store.ReadDesiredAsync(modelName, cancellationToken);
    }

    public Task<IReadOnlyList<FleetVersion>> GetVersionsAsync(string modelName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        return store.ReadVersionsAsync(modelName, cancellationToken);
    }

    public async Task<FleetStatus> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        (IReadOnlyList<FleetMember> members, IReadOnlyList<string> published) = await store.ReadMembersAsync(cancellationToken).ConfigureAwait(false);
        var names = new SortedSet<string>(published, StringComparer.Ordinal);
        foreach (FleetMember member in members)
        {
            names.UnionWith(member.Models.Select(m => m.Name));
        }

        var models = new List<FleetModelStatus>(names.Count);
        foreach (string name in names)
        {
            FleetDesiredVersion? desired = await store.ReadDesiredAsync(name, cancellationToken).ConfigureAwait(false);
            models.Add(FleetStatusAggregation.Model(name, desired, members));
        }

        return new FleetStatus { FleetName = FleetName, Models = models, Members = members };
    }

    // announce: whether instances are told at once; tests turn it off to stand for a lost message.
    internal async Task<FleetVersion> PublishCoreAsync(string modelName, string sha256, long size, FleetContentStorage storage, string? location, ReadOnlyMemory<byte>? content, FleetPublishOptions? options, CancellationToken cancellationToken, bool announce = true)
    {
        DateTimeOffset now = timeProvider.GetUtcNow();
        DateTimeOffset publishedAt = DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds());
        string versionId = options?.VersionId ?? $"v{publishedAt:yyyyMMdd-HHmmss-fff}-{sha256[..8]}";
        if (!FleetNames.IsValid(versionId))
        {
            throw new ArgumentException($"Fleet '{FleetName}', model '{modelName}': version id '{versionId}' is not valid: use 1 to {FleetNames.MaxLength} letters, digits, '.', '-' or '_'.", nameof(options));
        }

        FleetVersion version = _settings.Signer.Sign(new FleetVersion
        {
            Model = modelName,
            VersionId = versionId,
            Sha256 = sha256,
            SizeBytes = size,
            Storage = storage,
            Location = location,
            PublishedBy = options?.PublishedBy ?? Publisher(),
            PublishedAt = publishedAt,
        });
        FleetRollout? rollout = options?.CanaryShare is { } share ? await PlanRolloutAsync(modelName, versionId, share, cancellationToken).ConfigureAwait(false) : null;
        FleetDesiredVersion desired = await store.PublishAsync(version, content, rollout, announce, cancellationToken).ConfigureAwait(false);
        FleetLog.Published(logger, FleetName, modelName, versionId, sha256, storage, desired.Pinned ? desired.Version.VersionId : null);
        if (desired.Version.VersionId == versionId && desired.Rollout is { } started)
        {
            FleetLog.RolloutStarted(logger, FleetName, modelName, versionId, string.Join(", ", started.Canaries), started.Previous?.VersionId);
        }

        return version;
    }

    // The canaries: among the live instances that report the model, by a rendezvous hash of instance and version.
    private async Task<FleetRollout> PlanRolloutAsync(string modelName, string versionId, double share, CancellationToken cancellationToken)
    {
        if (!(share is > 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(share), share, $"Fleet '{FleetName}', model '{modelName}': FleetPublishOptions.CanaryShare must be between 0 and 1, exclusive.");
        }

        (IReadOnlyList<FleetMember> members, _) = await store.ReadMembersAsync(cancellationToken).ConfigureAwait(false);
        string[] candidates = [.. members.Where(m => m.Models.Any(x => x.Name == modelName)).Select(m => m.InstanceId)];
        if (candidates.Length == 0)
        {
            throw new InvalidOperationException($"Fleet '{FleetName}', model '{modelName}': no live instance reports the model, so there is no canary to choose; start the instances first, or publish without a canary share.");
        }

        return new FleetRollout { Stage = FleetRolloutStage.Canary, CanaryShare = share, Canaries = Rollouts.ChooseCanaries(candidates, modelName, versionId, share) };
    }

    private FleetDesiredVersion CanaryStage(string modelName, FleetDesiredVersion? desired) => desired switch
    {
        null => throw NothingPublished(modelName),
        { Rollout: { Stage: FleetRolloutStage.Canary } } => desired,
        { Rollout: { } rollout } => throw new InvalidOperationException($"Fleet '{FleetName}', model '{modelName}': the rollout of version '{desired.Version.VersionId}' is {rollout.Stage.ToString().ToLowerInvariant()}, not at the canary stage" + (rollout.Reason is null ? "." : $" ({rollout.Reason}).")),
        _ => throw new InvalidOperationException($"Fleet '{FleetName}', model '{modelName}': version '{desired.Version.VersionId}' was not published as a staged rollout (FleetPublishOptions.CanaryShare); there is nothing to promote or abort."),
    };

    private async Task<FleetDesiredVersion> ChangeAsync(string modelName, FleetAction action, Func<FleetDesiredVersion?, IReadOnlyList<FleetVersion>, FleetDesiredVersion> change, CancellationToken cancellationToken)
    {
        FleetDesiredVersion desired = (await store.ChangeDesiredAsync(modelName, change, cancellationToken).ConfigureAwait(false))!;
        FleetLog.DesiredChanged(logger, FleetName, modelName, action, desired.Version.VersionId, desired.Pinned);
        return desired;
    }

    private FleetDesiredVersion NewDesired(FleetVersion version, bool pinned, FleetAction action) =>
        new() { Version = version, Pinned = pinned, Action = action, ChangedBy = Publisher(), ChangedAt = timeProvider.GetUtcNow() };

    private InvalidOperationException NothingPublished(string modelName) =>
        new($"Fleet '{FleetName}', model '{modelName}': nothing is published for this model.");

    private static int IndexOf(IReadOnlyList<FleetVersion> versions, string versionId)
    {
        for (int i = 0; i < versions.Count; i++)
        {
            if (versions[i].VersionId == versionId)
            {
                return i;
            }
        }

        return -1;
    }

    private static string Publisher() => $"{Environment.UserName}@{Environment.MachineName}";
}
