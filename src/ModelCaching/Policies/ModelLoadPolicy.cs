namespace ModelCaching;

/// <summary>
/// When a model is loaded and how long it stays. The three policies work the same way in code
/// (<c>.Lazy()</c>, <c>.Eager()</c>, <c>.Expiring(...)</c>) and in configuration (<c>"Policy": "Expiring"</c>).
/// A time-to-live or an idle timeout (<see cref="ModelOptions.TimeToLive"/>, <see cref="ModelOptions.IdleTimeout"/>)
/// also applies to a lazy or eager model; <see cref="Expiring"/> requires one of them.
/// </summary>
public enum ModelLoadPolicy
{
    /// <summary>The first use loads the model; concurrent first callers share one load.</summary>
    Lazy,

    /// <summary>The host's start-up loads the model (see <see cref="ModelOptions.WaitForStartup"/>).</summary>
    Eager,

    /// <summary>
    /// The first use loads the model, which then expires: refreshed in the background before
    /// <see cref="ModelOptions.TimeToLive"/> runs out and/or unloaded after <see cref="ModelOptions.IdleTimeout"/>
    /// without use. Requires at least one of the two; validated when the host starts.
    /// </summary>
    Expiring,
}
