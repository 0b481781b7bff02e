using Microsoft.Extensions.Primitives;

namespace ModelCaching;

/// <summary>
/// A source that reads the model from a stream a delegate opens (blob storage, a database, an embedded
/// resource). The stream is read to the end, checked against the size limit, and disposed.
/// </summary>
public sealed class StreamModelSource : IModelSource
{
    private readonly Func<CancellationToken, ValueTask<Stream>> _open;

    /// <summary>Creates a source over <paramref name="open"/>.</summary>
    /// <param name="open">Opens a new stream positioned at the start of the model.</param>
    /// <param name="description">How the source is named in logs and errors.</param>
    public StreamModelSource(Func<CancellationToken, ValueTask<Stream>> open, string description = "stream")
    {
        ArgumentNullException.ThrowIfNull(open);
        ArgumentException.ThrowIfNullOrWhiteSpace(description);
        _open = open;
        Description = description;
    }

    /// <inheritdoc />
    public string Description { get; }

    /// <inheritdoc />
    public async ValueTask<ModelArtifact?> FetchAsync(ModelFetchContext context, CancellationToken cancellationToken)
    {
        Stream stream = await _open(cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"The stream delegate of {Description} returned null.");
        await using (stream.ConfigureAwait(false))
        {
            byte[] content = await ArtifactReader.ReadAllAsync(stream, context.MaxArtifactBytes, Description, cancellationToken).ConfigureAwait(false);
            return new ModelArtifact(content, Description);
        }
    }

    /// <inheritdoc />
    public IChangeToken? GetChangeToken() => null;
}
