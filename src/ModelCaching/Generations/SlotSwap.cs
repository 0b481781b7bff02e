namespace ModelCaching.Generations;

/// <summary>What a swap in a <see cref="ModelSlot{TModel}"/> replaced: the generation that served before, and those to retire once the budget knows.</summary>
internal readonly record struct SlotSwap<TModel>(ModelGeneration<TModel>? Previous, ModelGeneration<TModel>? Retire, ModelGeneration<TModel>? Released)
    where TModel : class;
