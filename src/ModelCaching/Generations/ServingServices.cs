using Microsoft.Extensions.Logging;
using ModelCaching.Budget;
using ModelCaching.Diagnostics;

namespace ModelCaching.Generations;

/// <summary>
/// What a <see cref="ServingChanges{TModel}"/> uses that is the same for every model of a template (issue 18: what a known
/// name costs): the clock, the log, the metrics, the budget, the owner, the load limiter and the template's name. One object per template, kept by the template
/// for the next model it makes (<see cref="For"/>), instead of five fields in every model; a cache made on its own or
/// registered by name has its own.
/// </summary>
/// <param name="timeProvider">The clock.</param>
/// <param name="loggerFactory">Where the logs go (the one the <see cref="Logger"/> came from).</param>
/// <param name="metrics">The metrics the models record to.</param>
/// <param name="budget">The memory budget the models join, if any.</param>
/// <param name="owner">Told when a template's model fails its first load (it is not kept); none for a model registered by name.</param>
/// <param name="limiter">The load slots the models' loads take.</param>
/// <param name="templateName">The template the models are made from, if any.</param>
internal sealed class ServingServices(TimeProvider timeProvider, ILoggerFactory loggerFactory, ModelCacheMetrics metrics, MemoryBudget? budget, IModelCacheOwner? owner, ModelLoadLimiter limiter, string? templateName)
{
    public TimeProvider TimeProvider { get; } = timeProvider;

    public ILoggerFactory LoggerFactory { get; } = loggerFactory;

    public ILogger Logger { get; } = loggerFactory.CreateLogger("ModelCaching.ModelCache");

    public ModelCacheMetrics Metrics { get; } = metrics;

    public MemoryBudget? Budget { get; } = budget;

    public IModelCacheOwner? Owner { get; } = owner;

    public ModelLoadLimiter Limiter { get; } = limiter;

    public string? TemplateName { get; } = templateName;

    /// <summary><paramref name="last"/> when it holds exactly these services (the same objects), else new ones.</summary>
    public static ServingServices For(ServingServices? last, TimeProvider timeProvider, ILoggerFactory loggerFactory, ModelCacheMetrics metrics, MemoryBudget? budget, IModelCacheOwner? owner, ModelLoadLimiter limiter, string? templateName) =>
        last is not null && last.TimeProvider == timeProvider && last.LoggerFactory == loggerFactory && last.Metrics == metrics && last.Budget == budget && last.Owner == owner
            && last.Limiter == limiter && last.TemplateName == templateName
            ? last
            : new ServingServices(timeProvider, loggerFactory, metrics, budget, owner, limiter, templateName);
}
