using ModelCaching.Redis.Records;

namespace ModelCaching.Redis.Instance;

/// <summary>Reads the bytes of a version, from Redis or from its location, never more than the cache accepts.</summary>
internal sealed class FleetContentReader(FleetStore store) : IDisposable
{
    // One client for every download of the instance's fleet models (connection reuse, no socket per fetch).
    private readonly HttpClient _http = new();

    public async Task<byte[]> ReadAsync(FleetVersion version, long maxBytes, CancellationToken cancellationToken)
    {
        string description = $"version {version.VersionId} of model '{version.Model}'";
        if (version.SizeBytes > maxBytes)
        {
            throw ArtifactReader.TooLarge(description, version.SizeBytes, maxBytes);
        }

        if (version.Storage == FleetContentStorage.Location)
        {
            return await ContentLocation.ReadAsync(version.Location ?? throw new InvalidDataException($"the record of {description} has no location"), maxBytes, _http, cancellationToken).ConfigureAwait(false);
        }

        byte[] bytes = await store.ReadContentAsync(version.Model, version.VersionId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException($"the bytes of {description} are not in Redis (deleted, or Redis restarted empty)");
        return bytes.Length > maxBytes ? throw ArtifactReader.TooLarge(description, bytes.Length, maxBytes) : bytes;
    }

    public void Dispose() => _http.Dispose();
}
