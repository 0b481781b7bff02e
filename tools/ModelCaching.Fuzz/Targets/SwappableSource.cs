using Microsoft.Extensions.Primitives;

namespace ModelCaching.Fuzz.Targets;

/// <summary>A source that delivers whatever bytes were set last: each fuzz input is one reload.</summary>
public sealed class SwappableSource(string description) : IModelSource
{
    private volatile byte[] _content = [];

    /// <summary>The bytes the next fetch delivers.</summary>
    public byte[] Content
    {
        get => _content;
        set => _content = value;
    }

    /// <inheritdoc />
    public string Description { get; } = description;

    /// <inheritdoc />
    public ValueTask<ModelArtifact?> FetchAsync(ModelFetchContext context, CancellationToken cancellationToken) =>
        new(new ModelArtifact(_content, Description));

    /// <inheritdoc />
    public IChangeToken? GetChangeToken() => null;
}
