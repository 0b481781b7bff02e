using Microsoft.Extensions.Logging;
using ModelCaching.Budget;
using ModelCaching.Diagnostics;

namespace ModelCaching.Generations;

/// <summary>
/// One loaded model and its version. Reference-counted: the cache holds one reference while the
/// generation serves (or drains), every lease holds one more. The model is disposed when the count
/// reaches zero, and a generation at zero can never be acquired again.
/// </summary>
internal sealed class ModelGeneration<TModel>
    where TModel : class
{
    private readonly ILogger _logger;
    private readonly string _modelName;
    private readonly Action<ModelGeneration<TModel>>? _onDisposed;
    private readonly GenerationCharge? _charge;

    // Starts at 1: the cache's own reference, released when the generation is retired.
    private int _references = 1;
    private int _retired;
    private ModelArtifact? _artifact;

    // onDisposed is called once the model is disposed, so the owner can drop its reference and let the model be collected.
    // charge: the bytes it holds against a memory budget, if the cache has one.
    public ModelGeneration(string modelName, TModel model, ModelVersion version, ModelArtifact? artifact, ILogger logger, Action<ModelGeneration<TModel>>? onDisposed = null, GenerationCharge? charge = null)
    {
        _onDisposed = onDisposed;
        _charge = charge;
        _modelName = modelName;
        Model = model;
        Version = version;
        _artifact = artifact;
        _logger = logger;
    }

    public TModel Model { get; }

    public ModelVersion Version { get; }

    /// <summary>
    /// The bytes the generation was loaded from, when a feature needs them (a rollback to it, the restore after an
    /// unload-first swap); let go when the generation is disposed, whoever still holds the generation.
    /// </summary>
    public ModelArtifact? Artifact => Volatile.Read(ref _artifact);

    /// <summary>The SHA-256 of the content it was loaded from, or <see langword="null"/> (a factory built it, or the source had no bytes).</summary>
    public string? ContentHash { get; init; }

    /// <summary>Leases alive on this generation (not counting the cache's own reference).</summary>
    public int ActiveLeases
    {
        get
        {
            int references = Volatile.Read(ref _references);
            return Volatile.Read(ref _retired) == 0 ? Math.Max(0, references - 1) : references;
        }
    }

    public bool IsDisposed => Volatile.Read(ref _references) == 0;

    /// <summary>Adds a lease unless the generation was already disposed.</summary>
    public bool TryAcquire()
    {
        int references = Volatile.Read(ref _references);
        while (references > 0)
        {
            int seen = Interlocked.CompareExchange(ref _references, references + 1, references);
            if (seen == references)
            {
                return true;
            }

            references = seen;
        }

        return false;
    }

    /// <summary>Ends a lease (or the cache's reference); the last one disposes the model.</summary>
    public void Release()
    {
        int references = Interlocked.Decrement(ref _references);
        if (references == 0 && Volatile.Read(ref _retired) == 0)
        {
            // A lease disposed twice while the cache still serves this generation took the cache's own reference:
            // put it back rather than dispose a serving model.
            Interlocked.Increment(ref _references);
            throw new InvalidOperationException($"A lease on model '{_modelName}' generation {Version.Generation} was disposed more than once.");
        }

        if (references == 0)
        {
            Volatile.Write(ref _artifact, null);
            DisposeModel();
            _charge?.OnDisposed();
            _onDisposed?.Invoke(this);
        }
        else if (references < 0)
        {
            // A lease disposed twice. Put the count back so the generation stays consistent.
            Interlocked.Increment(ref _references);
            throw new InvalidOperationException($"A lease on model '{_modelName}' generation {Version.Generation} was disposed more than once.");
        }
    }

    /// <summary>Drops the cache's own reference, once. Leases still alive keep the model until they end.</summary>
    public void Retire()
    {
        StopServing();
        if (Interlocked.Exchange(ref _retired, 1) == 0)
        {
            Release();
        }
    }

    /// <summary>The generation no longer serves (swapped out or unloaded), though leases or the drain delay may keep it: its bytes count as draining.</summary>
    public void StopServing() => _charge?.OnRetired();

    private void DisposeModel()
    {
        if (ModelDisposal.TryDispose(Model, _logger, _modelName, Version.Generation))
        {
            Log.GenerationDisposed(_logger, _modelName, Version.Generation, Version.Id);
        }
    }
}
