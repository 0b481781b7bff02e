using Microsoft.Extensions.Logging;
using ModelCaching.Loading;

namespace ModelCaching.Generations;

// The slot's generations: it numbers and makes them (GenerationFactory), owns them (they tell it of their disposal), and
// hands those that stop serving to a GenerationRetirement made at the first one.
internal sealed partial class ModelSlot<TModel>
{
    string IGenerationOwner<TModel>.ModelName => _context.ModelName;

    ILogger IGenerationOwner<TModel>.Logger => _context.Logger;

    /// <summary>How many generations were made; the next one's number is one more.</summary>
    public long GenerationCount => Interlocked.Read(ref _generationCount);

    /// <summary>Swapped-out generations not yet disposed.</summary>
    public int RetiredCount => Volatile.Read(ref _retirement)?.Count ?? 0;

    /// <summary>A new generation, numbered (<see cref="GenerationFactory.Create"/>), retired here once it stops serving.</summary>
    public ModelGeneration<TModel> CreateGeneration(TModel model, ModelArtifact? artifact, long size, Budget.GenerationCharge? charge) =>
        GenerationFactory.Create(this, _context, GenerationFactory.KeepsContent(_context.Options), Interlocked.Increment(ref _generationCount), model, artifact, size, charge);

    /// <summary>Raw bytes a generation from <paramref name="artifact"/> keeps while it serves (charged beside the model): its own, and the previous version's (<see cref="ModelRollbackRetention.Artifact"/>; a rollback empties the rollback slot).</summary>
    public long RetainedBytes(ModelArtifact? artifact, ModelLoadReason reason)
    {
        long own = GenerationFactory.KeepsContent(_context.Options) && artifact is { HasContent: true } ? artifact.Length : 0;
        long previous = reason == ModelLoadReason.Rollback || _rollback.Retention != ModelRollbackRetention.Artifact
            ? 0
            : _cell.Serving?.Artifact?.Length ?? _rollback.ArtifactBytes;
        return own + previous;
    }

    /// <summary>After a swap: retires what it replaced (the caller first tells the budget the new generation serves).</summary>
    public void Retire(in SlotSwap<TModel> swap)
    {
        RetireLater(swap.Retire);
        RetireLater(swap.Released);
    }

    /// <summary>At disposal, once loads are stopped: every generation is retired now (leases still pin theirs).</summary>
    public void ReleaseAll()
    {
        _cell.Take()?.Retire();
        _rollback.ReleaseGeneration()?.Retire();
        (Volatile.Read(ref _retirement) ?? MakeRetirement()).RetireAllNow();
    }

    void IGenerationOwner<TModel>.OnGenerationDisposed(ModelGeneration<TModel> generation) => Volatile.Read(ref _retirement)?.Forget(generation);

    // Only the loads charge a generation (LoadRunner.Charge, to the context's budget and member), so there is a budget here.
    void IGenerationOwner<TModel>.OnChargeDraining(long bytes) => _context.Budget!.MoveToDraining(bytes, _context.Member);

    void IGenerationOwner<TModel>.OnChargeReleased(long bytes, bool draining) => _context.Budget!.ReleaseCharge(bytes, draining, _context.Member);

    // Hands a generation that stopped serving to the retirement, made now if this is the first.
    private void RetireLater(ModelGeneration<TModel>? generation, TimeSpan? drainDelay = null)
    {
        if (generation is not null)
        {
            (Volatile.Read(ref _retirement) ?? MakeRetirement()).Retire(generation, drainDelay);
        }
    }

    private GenerationRetirement<TModel> MakeRetirement()
    {
        var made = new GenerationRetirement<TModel>(_context.TimeProvider, _context.Options.DrainDelay);
        return Interlocked.CompareExchange(ref _retirement, made, null) ?? made;
    }
}
