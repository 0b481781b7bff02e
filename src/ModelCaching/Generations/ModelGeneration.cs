using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using ModelCaching.Budget;
using ModelCaching.Diagnostics;

namespace ModelCaching.Generations;

/// <summary>
/// One loaded model and its version. The cache holds one reference while the generation serves (or drains); a lease
/// either pins it (<see cref="LeasePins"/>, the usual lease: no shared write) or holds one more reference (a counted
/// lease). The model is disposed once, when the cache's reference and every counted lease are gone and no pin holds it;
/// a retired generation takes no new pin, and a count at zero never rises again.
/// </summary>
internal sealed class ModelGeneration<TModel>
    where TModel : class
{
    // The slot that made it (its name and log, and news of its disposal): one reference, no delegate.
    private readonly IGenerationOwner<TModel> _owner;

    // The bytes charged to the cache's memory budget (-1: none), told to it through the owner; and where they stand
    // (GenerationCharge.Resident, Draining, Released). Fields here rather than a charge object (issue 18: 48 bytes a name).
    private readonly long _chargedBytes;
    private int _chargeState;

    // Starts at 1: the cache's own reference, released when the generation is retired. Counted leases add one each;
    // pinned leases are not counted here (LeasePins).
    private int _references = 1;
    private int _retired;
    private int _disposed;
    private ModelArtifact? _artifact;

    // Whether the version's id is the content's hash (it is whenever the content has one): the hash is not kept twice.
    private readonly bool _idIsContentHash;

    // owner is told once the model is disposed, so it can drop its reference and let the model be collected.
    // charge: the bytes it holds against a memory budget, if the cache has one.
    public ModelGeneration(IGenerationOwner<TModel> owner, TModel model, ModelVersion version, ModelArtifact? artifact, GenerationCharge? charge = null)
    {
        _owner = owner;
        _chargedBytes = charge is { Bytes: var bytes } ? bytes : -1;
        Model = model;
        Version = version;
        _artifact = artifact;
    }

    /// <summary>A generation made on its own, outside a slot (its disposal tells nobody).</summary>
    public ModelGeneration(string modelName, TModel model, ModelVersion version, ModelArtifact? artifact, ILogger logger)
        : this(new LoneGenerationOwner<TModel>(modelName, logger), model, version, artifact)
    {
    }

    public TModel Model { get; }

    /// <summary>What a lease pin holds while it pins this generation (never 0).</summary>
    public uint PinId { get; } = LeasePins.NextPinId();

    public ModelVersion Version { get; }

    /// <summary>
    /// The bytes the generation was loaded from, when a feature needs them (a rollback to it, the restore after an
    /// unload-first swap); let go when the generation is disposed, whoever still holds the generation.
    /// </summary>
    public ModelArtifact? Artifact => Volatile.Read(ref _artifact);

    /// <summary>The SHA-256 of the content it was loaded from, or <see langword="null"/> (a factory built it, or the source had no bytes).</summary>
    /// <remarks>The version's id, when there is one (<see cref="GenerationFactory"/> makes it the id): one string, not two references.</remarks>
    public string? ContentHash
    {
        get => _idIsContentHash ? Version.Id : null;
        init => _idIsContentHash = value is null ? false : value == Version.Id ? true : throw new ArgumentException($"The content hash of generation {Version.Generation} is not its version's id ({Version.Id}).", nameof(value));
    }

    /// <summary>Leases alive on this generation (not counting the cache's own reference).</summary>
    public int ActiveLeases
    {
        get
        {
            int references = Volatile.Read(ref _references);
            return (Volatile.Read(ref _retired) == 0 ? Math.Max(0, references - 1) : references) + LeasePins.Count(PinId);
        }
    }

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Whether the cache dropped its reference: no new pinned lease may be taken on it.</summary>
    public bool IsRetired
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref _retired) != 0;
    }

    /// <summary>Adds a counted lease unless the count reached zero (retired, and disposed or about to be once its pins end).</summary>
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
            throw new InvalidOperationException($"A lease on model '{_owner.ModelName}' generation {Version.Generation} was disposed more than once.");
        }

        if (references == 0)
        {
            DisposeIfUnpinned();
        }
        else if (references < 0)
        {
            // A lease disposed twice. Put the count back so the generation stays consistent.
            Interlocked.Increment(ref _references);
            throw new InvalidOperationException($"A lease on model '{_owner.ModelName}' generation {Version.Generation} was disposed more than once.");
        }
    }

    /// <summary>A pinned lease on this generation ended (or a pin was given back): the last one of a retired generation disposes it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void OnPinEnded()
    {
        // The pin's compare-and-swap (or the taker's store) came first; a retiring side that saw the pin left the disposal here.
        if (Volatile.Read(ref _retired) != 0)
        {
            OnPinEndedAfterRetirement();
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
    public void StopServing()
    {
        if (_chargedBytes >= 0 && Interlocked.CompareExchange(ref _chargeState, GenerationCharge.Draining, GenerationCharge.Resident) == GenerationCharge.Resident)
        {
            _owner.OnChargeDraining(_chargedBytes);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void OnPinEndedAfterRetirement()
    {
        if (Volatile.Read(ref _references) == 0)
        {
            DisposeIfUnpinned();
        }
    }

    // Called once the count is zero (it never rises again) and by each pin that ends after that. A pin stored before
    // retirement may still sit in another core's store buffer: the process-wide barrier makes every such pin visible to
    // the scan below, or makes its taker see the retired flag and give the pin back (LeasePins). Several callers may get
    // here; the one that finds no pin and sets _disposed first disposes.
    private void DisposeIfUnpinned()
    {
        Interlocked.MemoryBarrierProcessWide();
        if (LeasePins.IsPinned(PinId) || Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Volatile.Write(ref _artifact, null);
        DisposeModel();
        ReleaseCharge();
        _owner.OnGenerationDisposed(this);
    }

    // Once, whatever StopServing does at the same time: the exchange and its compare-and-swap order the two.
    private void ReleaseCharge()
    {
        if (_chargedBytes < 0)
        {
            return;
        }

        int previous = Interlocked.Exchange(ref _chargeState, GenerationCharge.Released);
        if (previous != GenerationCharge.Released)
        {
            _owner.OnChargeReleased(_chargedBytes, draining: previous == GenerationCharge.Draining);
        }
    }

    private void DisposeModel()
    {
        ILogger logger = _owner.Logger;
        if (ModelDisposal.TryDispose(Model, logger, _owner.ModelName, Version.Generation))
        {
            Log.GenerationDisposed(logger, _owner.ModelName, Version.Generation, Version.Id);
        }
    }
}
