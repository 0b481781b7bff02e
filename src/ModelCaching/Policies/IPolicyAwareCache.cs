namespace ModelCaching;

/// <summary>
/// What the host's start-up and the readiness check need of a cache, whatever its model type: its load policy and
/// the start that applies it (<see cref="ModelCache{TModel}.StartAsync"/>).
/// </summary>
internal interface IPolicyAwareCache
{
    ModelLoadPolicy Policy { get; }

    bool WaitForStartup { get; }

    Task StartAsync(CancellationToken cancellationToken);
}
