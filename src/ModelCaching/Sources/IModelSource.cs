using Microsoft.Extensions.Primitives;

namespace ModelCaching;

/// <summary>
/// Where a model's bytes and their version come from: a file, an HTTP endpoint, a stream, a delegate.
/// </summary>
public interface IModelSource
{
    /// <summary>A short description for logs, metrics and errors, such as <c>file:/models/iris.zip</c>.</summary>
    string Description { get; }

    /// <summary>
    /// Fetches the current content. Returns <see langword="null"/> when the source knows the content is
    /// unchanged since <see cref="ModelFetchContext.Current"/> (an HTTP 304, say).
    /// </summary>
    ValueTask<ModelArtifact?> FetchAsync(ModelFetchContext context, CancellationToken cancellationToken);

    /// <summary>
    /// A token that fires when the source's content may have changed, or <see langword="null"/> when the
    /// source does not detect changes. The cache asks for a new token after each one fires.
    /// </summary>
    IChangeToken? GetChangeToken();
}
