using ModelCaching.Redis.Records;

namespace ModelCaching.Redis.Instance;

/// <summary>
/// Reads the bytes of a version, from Redis or from its location (through <see cref="ContentLocation"/>: a registered
/// <see cref="IFleetContentLocationReader"/>, a file or an http(s) address), never more than the cache accepts. Whatever
/// read them, the fleet source hands them on with the version's SHA-256, which the cache checks before building a model.
/// </summary>
internal sealed class FleetContentReader(FleetStore store, ContentLocation locations)
{
    public async Task<byte[]> ReadAsync(FleetVersion version, long maxBytes, CancellationToken cancellationToken)
    {
        string description = $"version {version.VersionId} of model '{version.Model}'";
        if (version.SizeBytes > maxBytes)
        {
            throw ArtifactReader.TooLarge(description, version.SizeBytes, maxBytes);
        }

        if (version.Storage == FleetContentStorage.Location)
        {
            string location = version.Location ?? throw new InvalidDataException($"the record of {description} has no location");
            return await locations.ReadAsync(version.Model, location, maxBytes, cancellationToken).ConfigureAwait(false);
        }

        byte[] bytes = await store.ReadContentAsync(version.Model, version.VersionId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException($"the bytes of {description} are not in Redis (deleted, or Redis restarted empty)");
        return bytes.Length > maxBytes ? throw ArtifactReader.TooLarge(description, bytes.Length, maxBytes) : bytes;
    }
}
