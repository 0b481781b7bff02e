using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;

namespace ModelCaching.ML;

/// <summary>
/// Finds the prediction pool of a model by name, for code that picks the model per call
/// (<c>Predict(modelName, input)</c>). Pools are registered with <c>WithPredictionPool&lt;TData, TPrediction&gt;()</c>.
/// </summary>
public sealed class PredictionPoolProvider<TData, TPrediction>
    where TData : class
    where TPrediction : class, new()
{
    private readonly IServiceProvider _services;
    private readonly string[] _names;
    private readonly ConcurrentDictionary<string, PredictionPool<TData, TPrediction>> _pools = new(StringComparer.Ordinal);

    /// <summary>Creates the provider; the container does this.</summary>
    public PredictionPoolProvider(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        _services = services;
        _names = [.. services.GetServices<PredictionPoolRegistration>()
            .Where(static r => r.DataType == typeof(TData) && r.PredictionType == typeof(TPrediction))
            .Select(static r => r.ModelName)
            .Distinct(StringComparer.Ordinal)];
    }

    /// <summary>The names of the models that have a pool for these types.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>Returns the pool of the model <paramref name="modelName"/>.</summary>
    /// <exception cref="KeyNotFoundException">No model of that name has a pool for these types; the message lists the ones that do.</exception>
    public PredictionPool<TData, TPrediction> GetPool(string modelName)
    {
        ArgumentNullException.ThrowIfNull(modelName);
        return _pools.TryGetValue(modelName, out PredictionPool<TData, TPrediction>? pool) ? pool : Resolve(modelName);
    }

    /// <summary>Predicts one example with the model <paramref name="modelName"/>.</summary>
    public TPrediction Predict(string modelName, TData input) => GetPool(modelName).Predict(input);

    /// <summary>Predicts one example with the model <paramref name="modelName"/> into a caller-owned output.</summary>
    public void Predict(string modelName, TData input, ref TPrediction output) => GetPool(modelName).Predict(input, ref output);

    private PredictionPool<TData, TPrediction> Resolve(string modelName)
    {
        if (Array.IndexOf(_names, modelName) < 0)
        {
            string known = _names.Length == 0 ? "no model has one" : "models with one: " + string.Join(", ", _names.Select(static n => $"'{n}'"));
            throw new KeyNotFoundException($"No model named '{modelName}' has a prediction pool for {typeof(TData).Name} → {typeof(TPrediction).Name} (register it with AddModel<ITransformer>(name, m => m.UseMLNet().WithPredictionPool<{typeof(TData).Name}, {typeof(TPrediction).Name}>())); {known}.");
        }

        return _pools.GetOrAdd(modelName, static (name, services) => services.GetRequiredKeyedService<PredictionPool<TData, TPrediction>>(name), _services);
    }
}
