namespace ModelCaching.Reload;

/// <summary>The defaults of <see cref="FileModelSourceOptions"/>, in one place for the options and the docs.</summary>
internal static class FileModelSourceDefaults
{
    public static readonly TimeSpan PollingInterval = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan DebounceDelay = TimeSpan.FromMilliseconds(200);

    public static readonly TimeSpan StabilityInterval = TimeSpan.FromMilliseconds(500);
}
