namespace ModelCaching.Fuzz.Targets;

/// <summary>
/// One loader behind a <see cref="ModelCache{TModel}"/>, fed input after input through
/// <see cref="ModelCache{TModel}.ReloadAsync(CancellationToken)"/>. Implement it (usually by deriving from
/// <see cref="CacheFuzzTarget{TModel}"/>) and list it in <see cref="FuzzTargetCatalog"/> to fuzz another loader.
/// </summary>
public interface IFuzzTarget : IAsyncDisposable
{
    /// <summary>The name used on the command line (<c>--target NAME</c>) and in reports.</summary>
    string Name { get; }

    /// <summary>Valid inputs to start from; the first one is loaded before fuzzing starts, as the last good model.</summary>
    IReadOnlyList<byte[]> Seeds { get; }

    /// <summary>Loads the seed, then is ready for <see cref="RunAsync"/>.</summary>
    Task StartAsync();

    /// <summary>Reloads the cache with <paramref name="input"/> and says what happened.</summary>
    Task<FuzzResult> RunAsync(byte[] input);
}
