using System.Text;
using Microsoft.Extensions.Primitives;

namespace ModelCaching.AspNetCore.Tests.Support;

/// <summary>An in-memory model source whose content a test sets; each fetch returns the current text.</summary>
internal sealed class TextModelSource(string content) : IModelSource
{
    private volatile string _content = content;

    public string Description => "memory:test";

    public string Content
    {
        get => _content;
        set => _content = value;
    }

    public ValueTask<ModelArtifact?> FetchAsync(ModelFetchContext context, CancellationToken cancellationToken) =>
        ValueTask.FromResult<ModelArtifact?>(new ModelArtifact(Encoding.UTF8.GetBytes(_content), Description));

    public IChangeToken? GetChangeToken() => null;
}
