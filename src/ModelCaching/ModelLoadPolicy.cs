namespace ModelCaching;

/// <summary>
/// When a model is first loaded. Combine either with a time-to-live or an idle timeout
/// (<see cref="ModelOptions.TimeToLive"/>, <see cref="ModelOptions.IdleTimeout"/>) for an expiring model.
/// </summary>
public enum ModelLoadPolicy
{
    /// <summary>The first use loads the model; concurrent first callers share one load.</summary>
    Lazy,

    /// <summary>The host's start-up loads the model (see <see cref="ModelOptions.WaitForStartup"/>).</summary>
    Eager,
}
