namespace ModelCaching.Redis.Instance;

/// <summary>This instance's membership entry: per fleet model, what it serves, its state and why it is not on the desired version.</summary>
internal static class FleetMemberReport
{
    public static FleetMember Describe(FleetSettings settings, DateTimeOffset startedAt, DateTimeOffset now, IEnumerable<FleetModelEntry> entries, Func<FleetModelEntry, IModelCache?> cacheOf, InstancePlacement placement)
    {
        var models = new List<FleetMemberModel>();
        foreach (FleetModelEntry entry in entries)
        {
            FleetMemberModel model = Describe(entry, cacheOf(entry), settings.InstanceId); // only the models the fleet covers join
            if (placement.IsTracked(entry.Name) && model is { State: not (ModelCacheState.Ready or ModelCacheState.Degraded or ModelCacheState.Loading), LastError: null })
            {
                // A placed model that is not loaded says nothing a router or /fleet needs: the entry stays small with
                // a thousand tenants (its size follows what is loaded, which the memory budget bounds).
                continue;
            }

            models.Add(model);
        }

        models.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        FleetMember member = new() { InstanceId = settings.InstanceId, Host = Environment.MachineName, StartedAt = startedAt, ReportedAt = now, Address = settings.Address, Replicas = settings.Replicas, Models = models };
        if (!placement.Enabled)
        {
            return member;
        }

        (long? used, long? limit) = placement.Memory();
        return member with { PlacedModels = placement.Loaded(), MemoryUsedBytes = used, MemoryBudgetBytes = limit };
    }

    private static FleetMemberModel Describe(FleetModelEntry entry, IModelCache? cache, string instanceId)
    {
        FleetVersion? desired = entry.Accepted;
        ModelVersion? served = cache?.Version;
        return new FleetMemberModel
        {
            Name = entry.Name,
            DesiredVersionId = desired?.VersionId,
            ServedVersionId = served is null ? null : entry.VersionIdOf(served.Id),
            ServedSha256 = served?.Id,
            State = cache?.State ?? ModelCacheState.NotLoaded,
            LastError = LastError(entry, desired, served, cache),
            Canary = Rollouts.IsCanary(entry.Record, instanceId),
        };
    }

    private static string? LastError(FleetModelEntry entry, FleetVersion? desired, ModelVersion? served, IModelCache? cache)
    {
        if (entry.Refusal is { } refusal)
        {
            return $"refused the desired record: {refusal}";
        }

        if (entry.Missing)
        {
            return $"Redis has no desired version any more (was {desired?.VersionId}); serving what this instance has";
        }

        if (desired is null || cache is null || (served is not null && string.Equals(served.Id, desired.Sha256, StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }

        IReadOnlyList<ModelLoadRecord> history = cache.GetHistory();
        return history.Count > 0 && history[^1] is { Outcome: ModelLoadOutcome.Failure or ModelLoadOutcome.Skipped, Error: { } error } ? error : null;
    }
}
