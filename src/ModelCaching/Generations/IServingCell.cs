namespace ModelCaching.Generations;

/// <summary>
/// Where a <see cref="ModelSlot{TModel}"/> keeps the generation that serves. A cache is its own slot's cell, so that a hit
/// reads one field of the object it was called on and no other, as before issue 18 split the slot out (read through the
/// slot, a hit takes one more dependent load, another object's cache line when requests go to many models). Only the slot
/// writes it, under its lock, or at disposal through <see cref="Take"/>.
/// </summary>
internal interface IServingCell<TModel>
    where TModel : class
{
    /// <summary>The generation serving now, or <see langword="null"/> (a volatile field).</summary>
    ModelGeneration<TModel>? Serving { get; set; }

    /// <summary>Empties the cell at once and returns what it held.</summary>
    ModelGeneration<TModel>? Take();
}

/// <summary>A cell of its own, for a slot made without a cache (its tests).</summary>
internal sealed class ServingCell<TModel> : IServingCell<TModel>
    where TModel : class
{
    private volatile ModelGeneration<TModel>? _serving;

    public ModelGeneration<TModel>? Serving
    {
        get => _serving;
        set => _serving = value;
    }

    public ModelGeneration<TModel>? Take() => Interlocked.Exchange(ref _serving, null);
}
