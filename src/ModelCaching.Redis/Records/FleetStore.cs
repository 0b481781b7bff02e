using System.Text.Json;
using StackExchange.Redis;

namespace ModelCaching.Redis.Records;

/// <summary>
/// Reads and writes the fleet's records in Redis. Every change of a desired version is one transaction (MULTI/EXEC)
/// guarded by the values it read (optimistic, retried): a record is never seen half-written, and two publishers never
/// lose each other's version. The change is announced on the fleet's channel inside the same transaction. Every desired
/// record written gets the withdrawn versions carried forward (<see cref="Withdrawals.Carry"/>), the next revision
/// (<see cref="NextRevision"/>) and, with a key, its signature, here and nowhere else.
/// </summary>
internal sealed class FleetStore(FleetSettings settings, FleetConnection connection, TimeProvider time)
{
    private const int Attempts = 10;
    private readonly FleetKeys _keys = settings.Keys;

    public FleetSettings Settings => settings;

    public async Task<FleetDesiredVersion?> ReadDesiredAsync(string model, CancellationToken cancellationToken)
    {
        IDatabase db = await connection.DatabaseAsync(cancellationToken).ConfigureAwait(false);
        return ParseDesired(await db.StringGetAsync(_keys.Desired(model)).WaitAsync(cancellationToken).ConfigureAwait(false), model);
    }

    public async Task<IReadOnlyList<FleetVersion>> ReadVersionsAsync(string model, CancellationToken cancellationToken)
    {
        IDatabase db = await connection.DatabaseAsync(cancellationToken).ConfigureAwait(false);
        RedisValue[] ids = await db.ListRangeAsync(_keys.Versions(model)).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (ids.Length == 0)
        {
            return [];
        }

        RedisValue[] values = await db.StringGetAsync([.. ids.Select(id => _keys.Version(model, id.ToString()))]).WaitAsync(cancellationToken).ConfigureAwait(false);
        var versions = new List<FleetVersion>(values.Length);
        foreach (RedisValue value in values)
        {
            if (ParseVersion(value, model) is { } version)
            {
                versions.Add(version);
            }
        }

        return versions;
    }

    public async Task<byte[]?> ReadContentAsync(string model, string versionId, CancellationToken cancellationToken)
    {
        IDatabase db = await connection.DatabaseAsync(cancellationToken).ConfigureAwait(false);
        RedisValue value = await db.StringGetAsync(_keys.Content(model, versionId)).WaitAsync(cancellationToken).ConfigureAwait(false);
        return value.IsNull ? null : (byte[]?)value;
    }

    /// <summary>
    /// Adds <paramref name="version"/> (signed already) to the model's versions, with its bytes when they go to Redis, and
    /// makes it the desired version unless the model is pinned. Versions pushed out of <see cref="FleetSettings.VersionsKept"/>
    /// are deleted in the same transaction (never the desired one). With <paramref name="rollout"/> (its canaries chosen),
    /// the rest of the fleet stays on the version it serves now (<see cref="Rollouts.Stable"/>), read in the same guard.
    /// </summary>
    // announce: whether instances are told at once (tests turn it off to stand for a lost message).
    public async Task<FleetDesiredVersion> PublishAsync(FleetVersion version, ReadOnlyMemory<byte>? content, FleetRollout? rollout, bool announce, CancellationToken cancellationToken)
    {
        string model = version.Model;
        IDatabase db = await connection.DatabaseAsync(cancellationToken).ConfigureAwait(false);
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            (RedisValue desiredRaw, RedisValue[] ids) = await ReadPointerAsync(db, model, cancellationToken).ConfigureAwait(false);
            if (ids.Any(id => id == version.VersionId))
            {
                throw new InvalidOperationException($"Fleet '{settings.FleetName}', model '{model}': version '{version.VersionId}' is already published; give the new version another id.");
            }

            FleetDesiredVersion? read = ParseDesired(desiredRaw, model);
            FleetDesiredVersion? current = Trusted(read);
            string[] keptIds = [version.VersionId, .. ids.Take(settings.VersionsKept - 1).Select(id => id.ToString())];

            // A pinned record stays, but for the withdrawn versions this publish drops from the versions kept: an id that
            // left the list may be published again, as new content that nothing withdrew.
            FleetDesiredVersion desired = current is { Pinned: true }
                ? current.Withdrawn.All(keptIds.Contains) ? current : Stamp(current, read, current, keptIds)
                : Stamp(new FleetDesiredVersion { Version = version, Action = FleetAction.Publish, ChangedBy = version.PublishedBy, ChangedAt = version.PublishedAt, Rollout = rollout is null ? null : rollout with { Previous = Rollouts.Stable(current) } }, read, current, keptIds);
            FleetVersion? kept = Rollouts.Stable(desired);

            ITransaction tx = db.CreateTransaction();
            Guard(tx, model, desiredRaw, ids);
            if (content is { } bytes)
            {
                _ = tx.StringSetAsync(_keys.Content(model, version.VersionId), bytes);
            }

            _ = tx.StringSetAsync(_keys.Version(model, version.VersionId), JsonSerializer.Serialize(version, FleetJsonContext.Default.FleetVersion));
            _ = tx.ListLeftPushAsync(_keys.Versions(model), version.VersionId);
            _ = tx.ListTrimAsync(_keys.Versions(model), 0, settings.VersionsKept - 1);
            for (int i = settings.VersionsKept - 1; i < ids.Length; i++)
            {
                string dropped = ids[i].ToString();
                if (dropped != desired.Version.VersionId && dropped != kept?.VersionId)
                {
                    _ = tx.KeyDeleteAsync([_keys.Version(model, dropped), _keys.Content(model, dropped)]);
                }
            }

            _ = tx.SetAddAsync(_keys.Models, model);
            if (!ReferenceEquals(desired, current))
            {
                _ = tx.StringSetAsync(_keys.Desired(model), JsonSerializer.Serialize(desired, FleetJsonContext.Default.FleetDesiredVersion));
                if (announce)
                {
                    _ = tx.PublishAsync(_keys.Changes, model);
                }
            }

            if (await tx.ExecuteAsync().WaitAsync(cancellationToken).ConfigureAwait(false))
            {
                return desired;
            }
        }

        throw Contended(model);
    }

    /// <summary>
    /// Changes the desired record (rollback, pin, unpin, a rollout's promotion, abort or stop) in one guarded transaction
    /// and announces it; returns the new record, or <see langword="null"/> when <paramref name="change"/> left it as it was.
    /// </summary>
    // change: given the desired version (or null) and the kept versions (newest first), returns the new desired version,
    // or null for no change; throws when the change is not possible.
    public async Task<FleetDesiredVersion?> ChangeDesiredAsync(string model, Func<FleetDesiredVersion?, IReadOnlyList<FleetVersion>, FleetDesiredVersion?> change, CancellationToken cancellationToken)
    {
        IDatabase db = await connection.DatabaseAsync(cancellationToken).ConfigureAwait(false);
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            (RedisValue desiredRaw, RedisValue[] ids) = await ReadPointerAsync(db, model, cancellationToken).ConfigureAwait(false);
            IReadOnlyList<FleetVersion> versions = await ReadVersionsAsync(model, cancellationToken).ConfigureAwait(false);
            FleetDesiredVersion? read = ParseDesired(desiredRaw, model);
            FleetDesiredVersion? current = Trusted(read);
            if (change(current, versions) is not { } changed)
            {
                return null;
            }

            FleetDesiredVersion desired = Stamp(changed, read, current, ids.Select(id => id.ToString()));

            ITransaction tx = db.CreateTransaction();
            Guard(tx, model, desiredRaw, ids);
            _ = tx.StringSetAsync(_keys.Desired(model), JsonSerializer.Serialize(desired, FleetJsonContext.Default.FleetDesiredVersion));
            _ = tx.PublishAsync(_keys.Changes, model);
            if (await tx.ExecuteAsync().WaitAsync(cancellationToken).ConfigureAwait(false))
            {
                return desired;
            }
        }

        throw Contended(model);
    }

    /// <summary>Writes this instance's membership entry with its time-to-live.</summary>
    public async Task WriteMemberAsync(FleetMember member, CancellationToken cancellationToken)
    {
        IDatabase db = await connection.DatabaseAsync(cancellationToken).ConfigureAwait(false);
        IBatch batch = db.CreateBatch();
        Task set = batch.StringSetAsync(_keys.Member(member.InstanceId), JsonSerializer.Serialize(member, FleetJsonContext.Default.FleetMember), settings.MemberTimeToLive);
        Task add = batch.SetAddAsync(_keys.Members, member.InstanceId);
        batch.Execute();
        await Task.WhenAll(set, add).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task RemoveMemberAsync(string instanceId, CancellationToken cancellationToken)
    {
        IDatabase db = await connection.DatabaseAsync(cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(db.KeyDeleteAsync(_keys.Member(instanceId)), db.SetRemoveAsync(_keys.Members, instanceId)).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Tells the fleet that <paramref name="instanceId"/> joined or left: routers and placing instances read the membership
    /// again at once rather than at their next interval or heartbeat.
    /// </summary>
    public async Task AnnounceMembershipAsync(string instanceId, CancellationToken cancellationToken)
    {
        IDatabase db = await connection.DatabaseAsync(cancellationToken).ConfigureAwait(false);
        await db.PublishAsync(_keys.MembersChanged, instanceId).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The live members (ids whose entry expired are dropped from the set) and the published model names.</summary>
    public async Task<(IReadOnlyList<FleetMember> Members, IReadOnlyList<string> Models)> ReadMembersAsync(CancellationToken cancellationToken)
    {
        IDatabase db = await connection.DatabaseAsync(cancellationToken).ConfigureAwait(false);
        RedisValue[] entries = await ReadMemberEntriesAsync(db, cancellationToken).ConfigureAwait(false);
        RedisValue[] models = await db.SetMembersAsync(_keys.Models).WaitAsync(cancellationToken).ConfigureAwait(false);
        // The members placement and the routers see (FleetMemberReader decides which entries are members: a null id or
        // models list, which the serializer lets through, made this read throw), each in full for the status.
        HashSet<string> accepted = [.. new FleetMemberReader().Read(entries).Select(static member => member.InstanceId)];
        var members = new List<FleetMember>(accepted.Count);
        foreach (RedisValue entry in entries)
        {
            if (Parse(entry, FleetJsonContext.Default.FleetMember) is { } member && member.InstanceId is { } id && accepted.Contains(id))
            {
                members.Add(member);
            }
        }

        members.Sort(static (a, b) => string.CompareOrdinal(a.InstanceId, b.InstanceId));
        return (members, [.. models.Select(m => m.ToString()).Order(StringComparer.Ordinal)]);
    }

    /// <summary>
    /// The live members' entries as Redis holds them (JSON <see cref="FleetMember"/>, unparsed: placement reads only what
    /// it needs of them); ids whose entry expired are dropped from the set.
    /// </summary>
    public async Task<RedisValue[]> ReadMemberEntriesAsync(CancellationToken cancellationToken)
    {
        IDatabase db = await connection.DatabaseAsync(cancellationToken).ConfigureAwait(false);
        return await ReadMemberEntriesAsync(db, cancellationToken).ConfigureAwait(false);
    }

    private async Task<RedisValue[]> ReadMemberEntriesAsync(IDatabase db, CancellationToken cancellationToken)
    {
        RedisValue[] ids = await db.SetMembersAsync(_keys.Members).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (ids.Length == 0)
        {
            return [];
        }

        RedisValue[] entries = await db.StringGetAsync([.. ids.Select(id => _keys.Member(id.ToString()))]).WaitAsync(cancellationToken).ConfigureAwait(false);
        var expired = new List<RedisValue>();
        for (int i = 0; i < ids.Length; i++)
        {
            if (entries[i].IsNull)
            {
                expired.Add(ids[i]);
            }
        }

        if (expired.Count > 0)
        {
            await db.SetRemoveAsync(_keys.Members, [.. expired]).WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return entries;
    }

    private async Task<(RedisValue Desired, RedisValue[] Ids)> ReadPointerAsync(IDatabase db, string model, CancellationToken cancellationToken)
    {
        Task<RedisValue> desired = db.StringGetAsync(_keys.Desired(model));
        Task<RedisValue[]> ids = db.ListRangeAsync(_keys.Versions(model));
        await Task.WhenAll(desired, ids).WaitAsync(cancellationToken).ConfigureAwait(false);
        return (await desired.ConfigureAwait(false), await ids.ConfigureAwait(false));
    }

    // The transaction applies only if the desired record and the version list are what was read.
    private void Guard(ITransaction tx, string model, RedisValue desiredRaw, RedisValue[] ids)
    {
        tx.AddCondition(desiredRaw.IsNull ? Condition.KeyNotExists(_keys.Desired(model)) : Condition.StringEqual(_keys.Desired(model), desiredRaw));
        tx.AddCondition(Condition.ListLengthEqual(_keys.Versions(model), ids.Length));
        if (ids.Length > 0)
        {
            tx.AddCondition(Condition.ListIndexEqual(_keys.Versions(model), 0, ids[0]));
        }
    }

    /// <summary>
    /// The revision of a record that replaces <paramref name="current"/>: the greater of its revision + 1 and this writer's
    /// clock in Unix milliseconds. It goes up with every change in one Redis, and (clocks roughly right) also after Redis
    /// lost its records, so instances that accepted a revision before follow the first record written after. The revision
    /// of a record that fails its check is built on too (a higher revision never gets a signed record refused), unless it
    /// is more than a day ahead of the clock: a client without the key cannot push revisions to the end of the range.
    /// </summary>
    public static long NextRevision(FleetDesiredVersion? current, bool trusted, DateTimeOffset now)
    {
        long clock = now.ToUnixTimeMilliseconds();
        long previous = current?.Revision ?? 0;
        return previous < 0 || (!trusted && previous > clock + (long)TimeSpan.FromDays(1).TotalMilliseconds) ? clock : Math.Max(previous + 1, clock);
    }

    // With a key, a record that does not pass its check (written by a client without the key) is not built on: a change
    // signed here never takes over its pin or rollout; it replaces it as if Redis held none.
    private FleetDesiredVersion? Trusted(FleetDesiredVersion? current) => IsTrusted(current) ? current : null;

    private bool IsTrusted(FleetDesiredVersion? current) => current is not null && settings.Signer.Refusal(current, target: null) is null;

    // The record as written over read (trusted or not): the versions withdrawn, carried from current (read when trusted)
    // and kept to keptIds (the version list once written), the next revision, signed (with a key) over all of it.
    private FleetDesiredVersion Stamp(FleetDesiredVersion desired, FleetDesiredVersion? read, FleetDesiredVersion? current, IEnumerable<string> keptIds) =>
        settings.Signer.Sign(desired with { Withdrawn = Withdrawals.Carry(current, desired, keptIds), Revision = NextRevision(read, IsTrusted(read), time.GetUtcNow()), Signature = null });

    private InvalidOperationException Contended(string model) =>
        new($"Fleet '{settings.FleetName}', model '{model}': the change did not apply after {Attempts} attempts, because other publishers changed the model meanwhile; try again.");

    private static FleetDesiredVersion? ParseDesired(RedisValue value, string model) =>
        Parse(value, FleetJsonContext.Default.FleetDesiredVersion) is { } desired && desired.Version.Model == model ? desired : null;

    private static FleetVersion? ParseVersion(RedisValue value, string model) =>
        Parse(value, FleetJsonContext.Default.FleetVersion) is { } version && version.Model == model ? version : null;

    private static T? Parse<T>(RedisValue value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
        where T : class
    {
        if (value.IsNullOrEmpty)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize((string)value!, type);
        }
        catch (JsonException)
        {
            return null; // Not a record this version writes: treated as absent (and reported by the caller).
        }
    }
}
