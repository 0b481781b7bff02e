using ModelCaching.FailSafe;

namespace ModelCaching.Loading;

/// <summary>Checks the content against the size limit and the expected SHA-256 (from the options or a sidecar).</summary>
internal sealed class IntegrityStep<TModel> : LoadStep<TModel>
    where TModel : class
{
    public override ContentCheck? Check => ContentCheck.Integrity;

    public override bool Run(LoadContext<TModel> context)
    {
        context.Attempt.Step = "checking integrity";
        ModelOptions<TModel> settings = context.Pipeline.Settings;
        ModelArtifact artifact = context.Artifact!;
        if (artifact.Length > settings.MaxArtifactBytes)
        {
            throw ArtifactReader.TooLarge(artifact.Location, artifact.Length, settings.MaxArtifactBytes);
        }

        if (!artifact.HasContent)
        {
            return true;
        }

        foreach (string? expected in (ReadOnlySpan<string?>)[settings.ExpectedSha256, artifact.ExpectedSha256])
        {
            if (expected is not null && !string.Equals(expected, artifact.ContentHash, StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidDataException($"SHA-256 mismatch: expected {expected.ToLowerInvariant()}, the content has {artifact.ContentHash}");
            }
        }

        return true;
    }
}
