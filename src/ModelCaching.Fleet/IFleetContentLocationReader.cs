namespace ModelCaching.Fleet;

/// <summary>
/// Reads the bytes of a fleet version published by location (<see cref="IModelFleet.PublishLocationAsync"/>) from a kind
/// of location the fleet does not read by itself, such as <c>azure-blob://container/blob?versionid=…</c>
/// (ModelCaching.Azure's <c>AddAzureBlobFleetLocations</c>). Register implementations as an enumerable
/// (<c>services.TryAddEnumerable(ServiceDescriptor.Singleton&lt;IFleetContentLocationReader, …&gt;())</c>): the fleet asks
/// each in turn and the first that claims a location reads it; absolute file paths and <c>http(s)</c> addresses are read
/// by the fleet itself when no reader claims them. A location that nothing claims is refused when it is published.
/// </summary>
/// <remarks>
/// The location is kept in the fleet's records (Redis), so it must never carry a secret: a reader takes its credentials
/// from its own configuration. The bytes a reader returns are checked against the version's SHA-256 before a model is
/// built from them, whatever the reader.
/// </remarks>
public interface IFleetContentLocationReader
{
    /// <summary>
    /// Whether this reader reads <paramref name="location"/>. Asked when a version is published and before each read;
    /// it looks at the text only (no I/O) and answers <see langword="false"/> for a location it does not understand or
    /// that carries a secret.
    /// </summary>
    /// <param name="location">The location as published.</param>
    /// <returns><see langword="true"/> when this reader reads the location.</returns>
    bool CanRead(string location);

    /// <summary>Reads the bytes at <paramref name="location"/>, never more than <paramref name="maxBytes"/>.</summary>
    /// <param name="modelName">The model whose version is read, for error messages.</param>
    /// <param name="location">A location <see cref="CanRead"/> claimed.</param>
    /// <param name="maxBytes">The model's size limit; a larger content fails with an <see cref="InvalidDataException"/>, before or while reading.</param>
    /// <param name="cancellationToken">Cancels the read (the load's timeout).</param>
    /// <returns>The content, whole.</returns>
    Task<byte[]> ReadAsync(string modelName, string location, long maxBytes, CancellationToken cancellationToken);
}
