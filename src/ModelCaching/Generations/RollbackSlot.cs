namespace ModelCaching.Generations;

/// <summary>
/// What is kept of the version a swap replaced, for <see cref="IModelCache.RollbackAsync(CancellationToken)"/>, per
/// <see cref="ModelOptions.RollbackRetention"/>: its bytes (reloaded on rollback), its loaded generation (swapped back in
/// at once) or nothing. Thread-safe.
/// </summary>
/// <remarks>
/// It locks on itself (it is never handed out), which saves a lock object per model; a slot that keeps nothing
/// (<see cref="ModelRollbackRetention.None"/>, a template's default) is one instance shared by every model
/// (<see cref="For"/>): it never stores anything, so there is nothing to keep apart.
/// </remarks>
internal sealed class RollbackSlot<TModel>(ModelRollbackRetention retention)
    where TModel : class
{
    private static readonly RollbackSlot<TModel> KeepsNothing = new(ModelRollbackRetention.None);

    private ModelArtifact? _previousArtifact;
    private ModelGeneration<TModel>? _keptGeneration;

    public ModelRollbackRetention Retention => retention;

    /// <summary>The slot for a model kept with <paramref name="retention"/>: the shared one when it keeps nothing.</summary>
    public static RollbackSlot<TModel> For(ModelRollbackRetention retention) => retention == ModelRollbackRetention.None ? KeepsNothing : new(retention);

    /// <summary>The bytes kept for a rollback (<see cref="ModelRollbackRetention.Artifact"/>): charged to the serving generation's budget.</summary>
    public long ArtifactBytes
    {
        get
        {
            lock (this)
            {
                return _previousArtifact?.Length ?? 0;
            }
        }
    }

    /// <summary>
    /// A swap replaced <paramref name="previous"/>: keep what the retention says.
    /// </summary>
    /// <returns>The generation the caller should retire now: <paramref name="previous"/> itself unless it is kept
    /// loaded, in which case the one kept before (if any).</returns>
    public (ModelGeneration<TModel>? Retire, ModelGeneration<TModel>? Released) Replace(ModelGeneration<TModel> previous)
    {
        lock (this)
        {
            switch (retention)
            {
                case ModelRollbackRetention.Generation:
                    ModelGeneration<TModel>? released = _keptGeneration;
                    _keptGeneration = previous;
                    return (null, released);
                case ModelRollbackRetention.Artifact when previous.Artifact is not null:
                    _previousArtifact = previous.Artifact;
                    return (previous, null);
                default:
                    return (previous, null);
            }
        }
    }

    /// <summary>
    /// Takes what a rollback swaps back in (the kept generation, which leaves the slot) or reloads (the bytes, which stay
    /// until the rollback succeeds and <see cref="Clear"/> forgets them, so a failed rollback can be tried again).
    /// </summary>
    /// <returns><see langword="false"/> when nothing is kept.</returns>
    public bool TryTake(out ModelGeneration<TModel>? generation, out ModelArtifact? artifact)
    {
        lock (this)
        {
            generation = _keptGeneration;
            artifact = generation is null ? _previousArtifact : null;
            _keptGeneration = null;
            if (generation is not null)
            {
                return true;
            }

            return artifact is not null;
        }
    }

    /// <summary>
    /// Lets everything kept go, the generation and the bytes (an unload frees the model's memory, and bytes no serving
    /// generation is charged for would be memory no budget sees); the caller retires the generation.
    /// </summary>
    public ModelGeneration<TModel>? ReleaseGeneration()
    {
        lock (this)
        {
            ModelGeneration<TModel>? kept = _keptGeneration;
            _keptGeneration = null;
            _previousArtifact = null;
            return kept;
        }
    }

    /// <summary>Forgets everything kept (after a rollback); returns the kept generation for the caller to retire.</summary>
    public ModelGeneration<TModel>? Clear()
    {
        lock (this)
        {
            ModelGeneration<TModel>? kept = _keptGeneration;
            _keptGeneration = null;
            _previousArtifact = null;
            return kept;
        }
    }
}
