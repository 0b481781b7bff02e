namespace ModelCaching.Benchmarks.Policies.Peers;

/// <summary>
/// What each peer's minimal hot-reload code offers the benchmarks: the model (the hit) and the reload a file watcher
/// would start. The benchmarks call <see cref="Reload"/> in a loop to measure hits during reloads; steady hits call
/// each peer's own type, not this interface.
/// </summary>
internal interface IHotReloadingModel : IAsyncDisposable
{
    /// <summary>The peer's name in tables and charts.</summary>
    string Name { get; }

    /// <summary>One hit: the serving model (an engine rented and returned, for a pool).</summary>
    object Hit();

    /// <summary>What the peer's file watcher does on a change: load the file again and swap it in, keeping the old model on failure.</summary>
    void Reload();
}
