namespace ModelCaching.Redis.Instance;

/// <summary>
/// Whether an instance must reload a model to reach the fleet's desired version: the one decision reconciliation makes,
/// kept apart from Redis and timers so a property test can walk it.
/// </summary>
internal static class Reconciliation
{
    /// <param name="desiredSha256">The SHA-256 of the desired version.</param>
    /// <param name="state">The model's state on this instance.</param>
    /// <param name="served">The serving version, or <see langword="null"/>.</param>
    /// <param name="lastAttempt">The newest load record of the model, or <see langword="null"/>.</param>
    /// <returns>
    /// <see langword="true"/> when the instance serves other content than the desired version and has not already failed
    /// on exactly that content (a content failure is not retried by messages or reconciliation: the fail-safe knows the
    /// content is bad; a failure that was not the content's, such as an unreachable file, has no version and is retried).
    /// A model that never loaded is not loaded by the fleet: its first use reads the desired version.
    /// </returns>
    public static bool NeedsReload(string desiredSha256, ModelCacheState state, ModelVersion? served, ModelLoadRecord? lastAttempt)
    {
        if (served is null && state is ModelCacheState.NotLoaded or ModelCacheState.Unloaded)
        {
            return false;
        }

        if (served is not null && string.Equals(served.Id, desiredSha256, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return !(lastAttempt is { Outcome: ModelLoadOutcome.Failure or ModelLoadOutcome.Skipped } && string.Equals(lastAttempt.VersionId, desiredSha256, StringComparison.OrdinalIgnoreCase));
    }
}
