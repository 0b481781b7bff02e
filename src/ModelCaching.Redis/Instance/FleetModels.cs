using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelCaching.Redis.Diagnostics;
using ModelCaching.Redis.Records;
using StackExchange.Redis;

namespace ModelCaching.Redis.Instance;

/// <summary>
/// The fleet models of one instance and what the agent does for them against Redis: read a model's desired record and
/// take it in (refusing what the signing key does not allow), decide whether the model must reload to reach it (and
/// fire its change token), resolve the version a fetch loads, and write the membership entry that reports all of them.
/// It runs on the agent's loop (and a fetch's thread); it asks the loop for more work only through <see cref="FleetRequests"/>.
/// </summary>
internal sealed class FleetModels(FleetSettings settings, FleetConnection connection, FleetStore store, FleetRequests requests, IServiceProvider services, TimeProvider time, ILogger logger)
{
    private FleetMetrics? metrics;

    private readonly ConcurrentDictionary<string, FleetModelEntry> _models = new(StringComparer.Ordinal);
    private readonly Lock _membership = new();
    private IModelCacheProvider? _provider;

    /// <summary>Which placed models this instance owns (set once, by the agent).</summary>
    public required InstancePlacement Placement { get; init; }

    /// <summary>The report asked for after a placed model's load (set once, by the agent).</summary>
    public required DebouncedReport DebouncedReport { get; init; }

    /// <summary>The models that joined the fleet on this instance (their caches' sources are fleet sources).</summary>
    public IReadOnlyCollection<FleetModelEntry> All => [.. _models.Values];

    /// <summary>The names of the models that joined, in order.</summary>
    public string Names => string.Join(", ", _models.Keys.Order(StringComparer.Ordinal));

    /// <summary>Where a stopped rollout is counted (set once, by the agent).</summary>
    public FleetMetrics? Metrics
    {
        set => metrics = value;
    }

    /// <summary>A fleet source of <paramref name="model"/> was made: the model joins (or gets one more holder).</summary>
    public FleetModelEntry Join(string model)
    {
        lock (_membership)
        {
            FleetModelEntry entry = _models.GetOrAdd(model, static name => new FleetModelEntry(name));
            if (++entry.Holders == 1)
            {
                // A model that joins after the start (a template's, when its name is first used): the loop reads its
                // desired record and reports it now, not at the next heartbeat.
                requests.Changed(model);
            }

            return entry;
        }
    }

    /// <summary>
    /// A fleet source was disposed: with no other holder, the model leaves (a template's model dropped because its first
    /// load failed is no longer reconciled or reported); otherwise its cache is looked up again (the holder's may be gone).
    /// </summary>
    public void Leave(FleetModelEntry entry)
    {
        lock (_membership)
        {
            entry.Cache = null;
            if (--entry.Holders == 0)
            {
                _models.TryRemove(KeyValuePair.Create(entry.Name, entry));
                entry.CancelScheduledLoad();
            }
        }
    }

    public bool Contains(string model) => _models.ContainsKey(model);

    /// <summary>Reads the desired records of every covered model (<paramref name="all"/>) or of those in <paramref name="names"/>.</summary>
    public async Task ReconcileAsync(bool all, HashSet<string> names, CancellationToken stopping)
    {
        try
        {
            foreach (FleetModelEntry entry in _models.Values)
            {
                if (all || names.Contains(entry.Name))
                {
                    await ReconcileAsync(entry, stopping).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            FleetLog.ReconcileFailed(logger, ex, settings.FleetName);
        }
    }

    /// <summary>What this instance would report now (the metrics read it).</summary>
    public FleetMember Describe(DateTimeOffset startedAt) => FleetMemberReport.Describe(settings, startedAt, time.GetUtcNow(), _models.Values, CacheOf, Placement);

    /// <summary>
    /// Writes this instance's membership entry; a process that manages no model (a publisher, an admin application) is no
    /// member. Returns whether the entry was written.
    /// </summary>
    public async Task<bool> ReportAsync(DateTimeOffset startedAt, CancellationToken stopping)
    {
        try
        {
            FleetMember member = Describe(startedAt);
            // An instance with no model yet stays out of the status, unless routers send it requests or it places
            // models: then it must be a member before its first load (the router routes by membership).
            if (member.Models.Count == 0 && settings.Address is null && settings.PlacedTemplates is null)
            {
                return false;
            }

            await store.WriteMemberAsync(member, stopping).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            FleetLog.ReportFailed(logger, ex, settings.FleetName, settings.InstanceId);
            return false;
        }
    }

    /// <summary>
    /// For a fetch: the version the model should load. Reads Redis when connected (so a fetch always aims at the newest
    /// desired version, whatever message started it); otherwise, or when the read fails, the last version accepted.
    /// </summary>
    public async Task<FleetVersion?> ResolveForFetchAsync(FleetModelEntry entry, CancellationToken cancellationToken)
    {
        if (!connection.IsConnected)
        {
            return entry.Accepted;
        }

        try
        {
            return await ReadAndAcceptAsync(entry, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            FleetLog.ReadDesiredFailed(logger, ex, settings.FleetName, entry.Name, entry.Accepted?.VersionId);
            return entry.Accepted;
        }
    }

    private async Task ReconcileAsync(FleetModelEntry entry, CancellationToken stopping)
    {
        FleetVersion? target = await ReadAndAcceptAsync(entry, stopping).ConfigureAwait(false);
        IModelCache? cache = CacheOf(entry);
        if (cache is null)
        {
            return;
        }

        ModelVersion? served = cache.Version;
        if (target is null)
        {
            // No fleet version for this instance (a rollout with no Previous), yet it serves a canary version it may
            // serve no more (its rollout aborted, stopped or replaced since): it goes back to its own source.
            if (served is not null && entry.CanaryTakenBack is { } takenBack && string.Equals(served.Id, takenBack.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                FleetLog.CatchingUp(logger, settings.FleetName, entry.Name, takenBack.VersionId, "its own source", 0);
                entry.ScheduleLoad(time, TimeSpan.Zero);
            }

            return;
        }

        IReadOnlyList<ModelLoadRecord> history = cache.GetHistory();
        ModelLoadRecord? last = history.Count > 0 ? history[^1] : null;
        if (Reconciliation.NeedsReload(target.Sha256, cache.State, served, last))
        {
            // A canary loads at once (the rollout waits on it), and so does a canary going back from an aborted or
            // stopped rollout; a move of the whole fleet waits for this instance's share of the jitter, so the instances
            // do not read the version's source all at once.
            TimeSpan delay = Rollouts.LoadsAtOnce(entry.Record) ? TimeSpan.Zero : Rollouts.LoadDelay(settings.InstanceId, entry.Name, target.VersionId, settings.LoadJitter);
            FleetLog.CatchingUp(logger, settings.FleetName, entry.Name, served is null ? "nothing" : entry.VersionIdOf(served.Id), target.VersionId, delay.TotalMilliseconds);
            entry.ScheduleLoad(time, delay);
        }
        else if (last is { Outcome: ModelLoadOutcome.Failure or ModelLoadOutcome.Skipped } && Rollouts.IsCanary(entry.Record, settings.InstanceId)
            && string.Equals(last.VersionId, target.Sha256, StringComparison.OrdinalIgnoreCase) && !string.Equals(served?.Id, target.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            // A canary that failed on this very content before (an earlier rollout of it) does not load it again: that
            // failure is its answer, and the rollout stops as after a load, in this round (the stop is guarded: asked
            // again, it changes nothing).
            requests.StopLater(new RolloutStop(entry.Name, target.VersionId, $"canary {settings.InstanceId} failed to load version {target.VersionId} (it failed on the same content before): {last.Error}"));
        }
    }

    /// <summary>
    /// A load of <paramref name="entry"/>'s model ended (on the load's thread: only notes and asks). A failure is reported
    /// at once; a canary's failure on its rollout's version asks the loop to stop the rollout.
    /// </summary>
    public void OnLoadRecorded(FleetModelEntry entry, ModelLoadRecord record)
    {
        string? fetched = entry.TakeFetched();
        if (record.Outcome is not (ModelLoadOutcome.Failure or ModelLoadOutcome.Skipped))
        {
            // An abort, a rollback or a newer publish read while this load fetched another version found the old version
            // still serving, so reconciliation saw nothing to do: the name is read again now, not at the next tick. (The
            // swap precedes this call, so a record accepted after this read sees the version that now serves.)
            if (fetched is not null && entry.Accepted?.VersionId != fetched)
            {
                requests.Changed(entry.Name);
            }

            return;
        }

        if (fetched is not null && entry.Record is { } desired && desired.Version.VersionId == fetched && Rollouts.IsCanary(desired, settings.InstanceId))
        {
            requests.Stop(new RolloutStop(entry.Name, fetched, $"canary {settings.InstanceId} failed to load version {fetched}: {record.Error}"));
        }

        if (Placement.IsTracked(entry.Name))
        {
            DebouncedReport.Request(); // a made-up tenant name failing on its owner is not a write per request
            return;
        }

        requests.Report();
    }

    /// <summary>Stops the rollouts a canary's failure asked to stop (one guarded transaction each); one that Redis did not take waits for the next round.</summary>
    public async Task StopRolloutsAsync(IReadOnlyList<RolloutStop> stops, CancellationToken stopping)
    {
        for (int i = 0; i < stops.Count; i++)
        {
            RolloutStop stop = stops[i];
            try
            {
                FleetDesiredVersion? stopped = await store.ChangeDesiredAsync(stop.Model, (desired, _) =>
                    desired is { Rollout: { Stage: FleetRolloutStage.Canary } rollout } && desired.Version.VersionId == stop.VersionId
                        ? desired with { Action = FleetAction.Stop, ChangedBy = settings.InstanceId, ChangedAt = time.GetUtcNow(), Rollout = rollout with { Stage = FleetRolloutStage.Stopped, Reason = stop.Reason } }
                        : null, stopping).ConfigureAwait(false);
                if (stopped is not null)
                {
                    metrics?.RolloutStopped(stop.Model);
                    FleetLog.RolloutStopped(logger, settings.FleetName, stop.Model, stop.VersionId, stopped.Rollout?.Previous?.VersionId, stop.Reason);
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or InvalidOperationException)
            {
                FleetLog.StopRolloutFailed(logger, ex, settings.FleetName, stop.Model, stop.VersionId);
                for (int j = i; j < stops.Count; j++)
                {
                    requests.StopLater(stops[j]); // the next round (a tick, a reconnect, a message) tries again
                }

                return;
            }
        }
    }

    /// <summary>Drops the loads waiting for their share of the jitter.</summary>
    public void CancelScheduledLoads()
    {
        foreach (FleetModelEntry entry in _models.Values)
        {
            entry.CancelScheduledLoad();
        }
    }

    private async Task<FleetVersion?> ReadAndAcceptAsync(FleetModelEntry entry, CancellationToken cancellationToken)
    {
        FleetDesiredVersion? desired = await store.ReadDesiredAsync(entry.Name, cancellationToken).ConfigureAwait(false);
        FleetVersion? wanted = desired is null ? null : Rollouts.TargetFor(desired, settings.InstanceId);
        string? refusal = desired is null ? null : settings.Signer.Refusal(desired, wanted);
        (FleetVersion? target, AcceptOutcome outcome) = entry.Accept(desired, wanted, refusal);
        switch (outcome)
        {
            case AcceptOutcome.NewlyRefused:
                FleetLog.RecordRefused(logger, settings.FleetName, entry.Name, (wanted ?? desired!.Version).VersionId, desired!.Revision, entry.Refusal!);
                metrics?.RecordRefused(entry.Name);
                requests.Report();
                break;
            case AcceptOutcome.NewlyMissing:
                FleetLog.DesiredVersionMissing(logger, settings.FleetName, entry.Name, target!.VersionId);
                requests.Report();
                break;
        }

        return target;
    }

    private IModelCache? CacheOf(FleetModelEntry entry)
    {
        if (entry.Cache is { } known)
        {
            return known;
        }

        _provider ??= services.GetRequiredService<IModelCacheProvider>();
        if (!_provider.TryGetCache(entry.Name, out IModelCache? cache))
        {
            return null;
        }

        entry.Cache = cache;
        if (Placement.IsTracked(entry.Name))
        {
            cache.Reloaded += (_, _) => DebouncedReport.Request();
        }
        else
        {
            cache.Reloaded += (_, _) => requests.Report();
        }
        return cache;
    }
}
