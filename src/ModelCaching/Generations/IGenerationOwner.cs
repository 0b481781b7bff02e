using Microsoft.Extensions.Logging;
using ModelCaching.Budget;
using ModelCaching.FailSafe;

namespace ModelCaching.Generations;

/// <summary>
/// What a <see cref="ModelGeneration{TModel}"/> asks of the slot that made it (<see cref="ModelSlot{TModel}"/>): the
/// model's name and log for its disposal, and news of that disposal, so that the swapped-out list forgets it. One
/// reference per generation instead of a name, a logger and a callback delegate each (issue 18: what a known name costs).
/// </summary>
internal interface IGenerationOwner<TModel>
    where TModel : class
{
    string ModelName { get; }

    ILogger Logger { get; }

    /// <summary>The generation's model was disposed: nothing may keep it reachable any more.</summary>
    void OnGenerationDisposed(ModelGeneration<TModel> generation);

    /// <summary>A generation charged <paramref name="bytes"/> to the cache's budget stopped serving: they drain. Once per generation.</summary>
    void OnChargeDraining(long bytes);

    /// <summary>A generation charged <paramref name="bytes"/> to the cache's budget was disposed: they are free. Once per generation.</summary>
    void OnChargeReleased(long bytes, bool draining);
}

/// <summary>
/// Where a <see cref="ModelSlot{TModel}"/> reads its model's name, description, settings, clock and log, and what it tells under
/// its lock (the fail-safe, the timers, the budget member): the cache's <see cref="ServingChanges{TModel}"/>, or a
/// <see cref="GenerationContext"/> for a slot made on its own. One reference in the slot instead of one each.
/// </summary>
internal interface IGenerationContext
{
    string ModelName { get; }

    string SourceDescription { get; }

    /// <summary>What a version made now keeps as its source: <see cref="SourceDescription"/>, or what makes it when read (<see cref="IVersionSource"/>).</summary>
    object VersionSource => SourceDescription;

    /// <summary>The model's settings (the cache's snapshot, read as they are).</summary>
    ModelOptions Options { get; }

    TimeProvider TimeProvider { get; }

    ILogger Logger { get; }

    FailSafePolicy FailSafe { get; }

    IServingTimers Timers { get; }

    /// <summary>The budget member the slot publishes its standing to; none for a model the budget never evicts (pinned, eager).</summary>
    BudgetMember? SlotMember { get; }

    /// <summary>The budget the slot's generations are charged to (by the loads), if any.</summary>
    MemoryBudget? Budget { get; }

    /// <summary>The cache's member in <see cref="Budget"/>, to which its generations' charges count (also for a pinned or eager model).</summary>
    BudgetMember? Member { get; }
}

/// <summary>An <see cref="IGenerationContext"/> of fixed values (a slot or a generation made on its own, as tests do).</summary>
internal sealed record GenerationContext(string ModelName, string SourceDescription, ModelOptions Options, TimeProvider TimeProvider, ILogger Logger, FailSafePolicy FailSafe, IServingTimers Timers, BudgetMember? SlotMember) : IGenerationContext
{
    // A slot made on its own is charged to no budget: the loads of a cache charge, through its ServingChanges.
    public MemoryBudget? Budget => null;

    public BudgetMember? Member => SlotMember;
}

/// <summary>The owner of a generation made on its own (no slot): its disposal tells nobody.</summary>
internal sealed class LoneGenerationOwner<TModel>(string modelName, ILogger logger) : IGenerationOwner<TModel>
    where TModel : class
{
    public string ModelName => modelName;

    public ILogger Logger => logger;

    public void OnGenerationDisposed(ModelGeneration<TModel> generation)
    {
    }

    // A generation made on its own is charged to no budget (its constructor takes no charge).
    public void OnChargeDraining(long bytes)
    {
    }

    public void OnChargeReleased(long bytes, bool draining)
    {
    }
}
