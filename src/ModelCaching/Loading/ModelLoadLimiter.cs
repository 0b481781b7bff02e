namespace ModelCaching;

/// <summary>
/// Limits how many model loads run at once across every cache of a provider (<see cref="ModelCacheOptions.MaxConcurrentLoads"/>).
/// </summary>
internal sealed class ModelLoadLimiter : IDisposable
{
    private readonly SemaphoreSlim? _semaphore;

    public ModelLoadLimiter(int maxConcurrentLoads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrentLoads, 1);
        _semaphore = new SemaphoreSlim(maxConcurrentLoads, maxConcurrentLoads);
    }

    private ModelLoadLimiter()
    {
    }

    /// <summary>A limiter that never waits, for caches created on their own.</summary>
    public static ModelLoadLimiter Unlimited { get; } = new();

    public Task WaitAsync(CancellationToken cancellationToken) => _semaphore?.WaitAsync(cancellationToken) ?? Task.CompletedTask;

    public void Release() => _semaphore?.Release();

    public void Dispose() => _semaphore?.Dispose();
}
