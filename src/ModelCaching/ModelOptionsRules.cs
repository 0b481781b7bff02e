using System.Diagnostics.CodeAnalysis;

namespace ModelCaching;

/// <summary>
/// The checks of <see cref="ModelOptions"/> that do not depend on the model type, one message per problem (each
/// naming the model and the setting), run when the host starts and when a cache is built.
/// </summary>
internal static class ModelOptionsRules
{
    public static IEnumerable<string> Problems(ModelOptions options, string modelName)
    {
        if (options.TimeToLive is { } ttl && ttl <= TimeSpan.Zero)
        {
            yield return Problem(modelName, nameof(ModelOptions.TimeToLive), $"must be positive (was {ttl})");
        }

        if (double.IsNaN(options.RefreshAheadRatio) || options.RefreshAheadRatio < 0.1 || options.RefreshAheadRatio > 1.0)
        {
            yield return Problem(modelName, nameof(ModelOptions.RefreshAheadRatio), $"must be between 0.1 and 1.0 (was {options.RefreshAheadRatio})");
        }

        if (options.IdleTimeout is { } idle && idle <= TimeSpan.Zero)
        {
            yield return Problem(modelName, nameof(ModelOptions.IdleTimeout), $"must be positive (was {idle})");
        }

        if (options.LoadTimeout <= TimeSpan.Zero && options.LoadTimeout != Timeout.InfiniteTimeSpan)
        {
            yield return Problem(modelName, nameof(ModelOptions.LoadTimeout), $"must be positive or Timeout.InfiniteTimeSpan (was {options.LoadTimeout})");
        }

        if (options.FailureCooldown < TimeSpan.Zero)
        {
            yield return Problem(modelName, nameof(ModelOptions.FailureCooldown), $"must not be negative (was {options.FailureCooldown})");
        }

        if (options.RetryBaseDelay < TimeSpan.Zero)
        {
            yield return Problem(modelName, nameof(ModelOptions.RetryBaseDelay), $"must not be negative (was {options.RetryBaseDelay})");
        }

        if (options.RetryMaxDelay < options.RetryBaseDelay)
        {
            yield return Problem(modelName, nameof(ModelOptions.RetryMaxDelay), $"must be at least RetryBaseDelay ({options.RetryBaseDelay}) (was {options.RetryMaxDelay})");
        }

        if (options.DrainDelay < TimeSpan.Zero)
        {
            yield return Problem(modelName, nameof(ModelOptions.DrainDelay), $"must not be negative (was {options.DrainDelay})");
        }

        if (options.EvictionDrainDelay < TimeSpan.Zero)
        {
            yield return Problem(modelName, nameof(ModelOptions.EvictionDrainDelay), $"must not be negative (was {options.EvictionDrainDelay})");
        }

        if (options.MaxArtifactBytes <= 0 || options.MaxArtifactBytes > Array.MaxLength)
        {
            yield return Problem(modelName, nameof(ModelOptions.MaxArtifactBytes), $"must be between 1 and {Array.MaxLength:N0} bytes, the largest array .NET can hold (was {options.MaxArtifactBytes:N0})");
        }

        if (options.HistoryLength < 1)
        {
            yield return Problem(modelName, nameof(ModelOptions.HistoryLength), $"must be at least 1 (was {options.HistoryLength})");
        }

        if (options.ExpectedSha256 is { } sha && !IsSha256Hex(sha))
        {
            yield return Problem(modelName, nameof(ModelOptions.ExpectedSha256), $"must be 64 hexadecimal characters (was '{sha}')");
        }

        foreach (string problem in options.ConfiguredSource?.Problems(modelName) ?? [])
        {
            yield return problem;
        }

        if (!Enum.IsDefined(options.Policy))
        {
            yield return Problem(modelName, nameof(ModelOptions.Policy), $"must be one of {ValidValues<ModelLoadPolicy>()} (was {options.Policy})");
        }
        else if (options.Policy == ModelLoadPolicy.Expiring && options.TimeToLive is null && options.IdleTimeout is null)
        {
            yield return Problem(modelName, nameof(ModelOptions.Policy), "Expiring needs a TimeToLive, an IdleTimeout or both (set them in code with .Expiring(timeToLive, idleTimeout) or in configuration)");
        }

        if (!Enum.IsDefined(options.SizeMeasure))
        {
            yield return Problem(modelName, nameof(ModelOptions.SizeMeasure), $"must be one of {ValidValues<ModelSizeMeasure>()} (was {options.SizeMeasure})");
        }

        if (!Enum.IsDefined(options.SwapMode))
        {
            yield return Problem(modelName, nameof(ModelOptions.SwapMode), $"must be one of {ValidValues<ModelSwapMode>()} (was {options.SwapMode})");
        }

        if (options.RollbackRetention == ModelRollbackRetention.Generation && options.SwapMode == ModelSwapMode.UnloadFirst)
        {
            yield return Problem(modelName, nameof(ModelOptions.RollbackRetention), "Generation keeps two models in memory, which SwapMode UnloadFirst is there to avoid: use Artifact or None");
        }

        if (!Enum.IsDefined(options.RollbackRetention))
        {
            yield return Problem(modelName, nameof(ModelOptions.RollbackRetention), $"must be one of {ValidValues<ModelRollbackRetention>()} (was {options.RollbackRetention})");
        }
    }

    public static bool IsSha256Hex([NotNullWhen(true)] string? value) =>
        value is { Length: 64 } && value.AsSpan().ContainsAnyExcept("0123456789abcdefABCDEF") is false;

    public static string ValidValues<TEnum>()
        where TEnum : struct, Enum => string.Join(", ", Enum.GetNames<TEnum>());

    public static string Problem(string modelName, string field, string message) => $"Model '{modelName}': {field} {message}.";
}
