namespace ModelCaching;

/// <summary>
/// The part of a model cache that does not depend on the model's type: state, version, reload,
/// rollback and statistics. Admin endpoints and health checks work through it.
/// </summary>
public interface IModelCache
{
    /// <summary>The model's name, unique in its <see cref="IModelCacheProvider"/>.</summary>
    string Name { get; }

    /// <summary>The CLR type of the model.</summary>
    Type ModelType { get; }

    /// <summary>The current lifecycle state.</summary>
    ModelCacheState State { get; }

    /// <summary>The serving version, or <see langword="null"/> when nothing is serving.</summary>
    ModelVersion? Version { get; }

    /// <summary>Where the model is loaded from.</summary>
    string SourceDescription { get; }

    /// <summary>Raised after a new generation starts serving (first load, reload or rollback).</summary>
    event EventHandler<ModelReloadedEventArgs>? Reloaded;

    /// <summary>
    /// Raised after the serving generation was unloaded (idle timeout, <see cref="Invalidate"/>), so that whatever
    /// holds on to it (engine pools, sessions) can let it go. Handlers run on the unloading thread; exceptions are logged.
    /// </summary>
    event EventHandler<ModelUnloadedEventArgs>? Unloaded;

    /// <summary>
    /// Loads the model now from its source and swaps it in when the content changed. A failure never
    /// replaces a serving model: it throws <see cref="ModelLoadException"/> and the cache stays on the last
    /// good generation (<see cref="ModelCacheState.Degraded"/>).
    /// </summary>
    /// <param name="cancellationToken">Stops this caller's wait; the load itself goes on for other callers.</param>
    /// <returns>The serving version after the reload (the same one when the content was unchanged).</returns>
    /// <exception cref="ModelReloadRefusedException">The source has the version a rollback went back from: it is not loaded again without <c>force</c> (<see cref="ReloadAsync(bool, string?, CancellationToken)"/>).</exception>
    Task<ModelVersion> ReloadAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Like <see cref="ReloadAsync(CancellationToken)"/>, naming the caller in the load history (<see cref="ModelLoadRecord.RequestedBy"/>).
    /// An explicit reload does not silently undo a rollback: when the source still has the version a rollback went back
    /// from (the same content hash), it throws <see cref="ModelReloadRefusedException"/> and records the refusal, unless
    /// <paramref name="force"/> is <see langword="true"/>: then that version loads and serves again, and the history says
    /// the reload was forced.
    /// </summary>
    /// <param name="force">Load the source's content even when a rollback went back from it.</param>
    /// <param name="requestedBy">Who asked (a user name, a tool), for the load history; <see langword="null"/> when unknown.</param>
    /// <param name="cancellationToken">Stops this caller's wait; the load itself goes on for other callers.</param>
    /// <returns>The serving version after the reload.</returns>
    /// <exception cref="ModelReloadRefusedException">The source has the version a rollback went back from, and <paramref name="force"/> is <see langword="false"/>.</exception>
    /// <remarks>The default implementation, for caches that keep no rollback hold nor history, is <see cref="ReloadAsync(CancellationToken)"/>.</remarks>
    Task<ModelVersion> ReloadAsync(bool force, string? requestedBy = null, CancellationToken cancellationToken = default) => ReloadAsync(cancellationToken);

    /// <summary>
    /// Goes back to the version that served before the current one, through the same validation and
    /// warm-up as a reload. The content that was rolled back from is not loaded again until it changes: automatic
    /// reloads skip it, and an explicit reload of it needs <c>force</c> (<see cref="ReloadAsync(bool, string?, CancellationToken)"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">There is no previous version to roll back to.</exception>
    Task<ModelVersion> RollbackAsync(CancellationToken cancellationToken = default);

    /// <summary>Like <see cref="RollbackAsync(CancellationToken)"/>, naming the caller in the load history (<see cref="ModelLoadRecord.RequestedBy"/>).</summary>
    /// <param name="requestedBy">Who asked (a user name, a tool); <see langword="null"/> when unknown.</param>
    /// <param name="cancellationToken">Stops this caller's wait.</param>
    /// <exception cref="InvalidOperationException">There is no previous version to roll back to.</exception>
    /// <remarks>The default implementation, for caches that keep no history, is <see cref="RollbackAsync(CancellationToken)"/>.</remarks>
    Task<ModelVersion> RollbackAsync(string? requestedBy, CancellationToken cancellationToken = default) => RollbackAsync(cancellationToken);

    /// <summary>Drops the serving generation; the next use loads the model again.</summary>
    void Invalidate();

    /// <summary>A snapshot of counters and state.</summary>
    ModelCacheStatistics GetStatistics();

    /// <summary>The most recent load attempts, newest last.</summary>
    IReadOnlyList<ModelLoadRecord> GetHistory();
}
