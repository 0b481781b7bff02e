using System.Text;

namespace ModelCaching.AspNetCore.Tests.Support;

/// <summary>A model that is just its text. Text starting with "corrupt" fails to load, like a damaged file.</summary>
internal sealed class TextModel(string text)
{
    public string Text { get; } = text;

    public static ValueTask<TextModel> LoadAsync(ModelArtifact artifact, CancellationToken cancellationToken)
    {
        string text = Encoding.UTF8.GetString(artifact.Content.Span);
        if (text.StartsWith("corrupt", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"The model file is corrupt: '{text}'.");
        }

        return ValueTask.FromResult(new TextModel(text));
    }
}
