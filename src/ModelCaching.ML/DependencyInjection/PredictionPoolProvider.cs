using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.ML;
using ModelCaching.ML.Compatibility;
using ModelCaching.ML.Diagnostics;

namespace ModelCaching.ML;

/// <summary>
/// Finds the prediction pool of a model by name, for code that picks the model per call
/// (<c>Predict(modelName, input)</c>). Pools are registered with <c>WithPredictionPool&lt;TData, TPrediction&gt;()</c>
/// on a model, or on a template (<c>AddModelTemplate</c>): then each model made from the template gets a pool of its
/// own on first use of its name.
/// </summary>
/// <remarks>
/// A template model's pool is kept with its cache (keyed by the cache instance, not by the name): when the provider
/// forgets a name (its first load failed), the next call makes a new cache and a new pool, and the old pool goes
/// with the old cache. An evicted model keeps its cache and its pool, whose engines were released on eviction.
/// </remarks>
public sealed class PredictionPoolProvider<TData, TPrediction> : IDisposable
    where TData : class
    where TPrediction : class, new()
{
    private readonly IServiceProvider _services;
    private readonly string[] _names;
    private readonly ConcurrentDictionary<string, PredictionPool<TData, TPrediction>> _pools = new(StringComparer.Ordinal);

    // The templates with a pool of these types, and the name prefix each serves ("" for every name), read once.
    private readonly TemplatePoolSettings<TData, TPrediction>[] _templates;
    private readonly string[] _templatePrefixes;
    private readonly IModelCacheProvider? _provider;

    // A template model's pool, keyed by its cache: lock-free reads, and an entry lives only as long as its cache (the
    // pool's event handlers make the cache reference the pool, which a dictionary by name would keep forever).
    private readonly ConditionalWeakTable<IModelCache<ITransformer>, PredictionPool<TData, TPrediction>> _templatePools = [];
    private readonly Lock _createLock = new();
    private bool _disposed;

    /// <summary>Creates the provider; the container does this.</summary>
    public PredictionPoolProvider(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        _services = services;
        _names = [.. services.GetServices<PredictionPoolRegistration>()
            .Where(static r => r.DataType == typeof(TData) && r.PredictionType == typeof(TPrediction))
            .Select(static r => r.ModelName)
            .Distinct(StringComparer.Ordinal)];
        _templates = [.. services.GetServices<TemplatePoolSettings<TData, TPrediction>>()];
        if (_templates.Length > 0)
        {
            IOptionsMonitor<ModelTemplateOptions> templateOptions = services.GetRequiredService<IOptionsMonitor<ModelTemplateOptions>>();
            _templatePrefixes = [.. _templates.Select(t => templateOptions.Get(t.TemplateName).NamePrefix ?? string.Empty)];
            _provider = services.GetRequiredService<IModelCacheProvider>();
        }
        else
        {
            _templatePrefixes = [];
        }
    }

    /// <summary>The names of the registered models that have a pool for these types (models made from templates are not listed).</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>Returns the pool of the model <paramref name="modelName"/>: a registered model, or one made from a template.</summary>
    /// <exception cref="ModelNotFoundException">No model of that name has a pool for these types, and no template with one serves the name; the message lists the ones that do (a <see cref="KeyNotFoundException"/>).</exception>
    /// <exception cref="InvalidModelNameException">A template serves the name, but the name is not valid (<see cref="ModelNames"/>): <c>../../etc/passwd</c>, an empty or a too long name (an <see cref="ArgumentException"/>).</exception>
    public PredictionPool<TData, TPrediction> GetPool(string modelName)
    {
        ArgumentNullException.ThrowIfNull(modelName);

        // One lookup for a registered model, and for a template model that has served (the provider keeps those for good).
        return _pools.TryGetValue(modelName, out PredictionPool<TData, TPrediction>? pool) ? pool : GetTemplatePool(modelName);
    }

    /// <summary>Predicts one example with the model <paramref name="modelName"/>.</summary>
    /// <exception cref="ModelLoadException">The model could not be loaded; the message names the model. For a template's model whose source has nothing for the name (no file), a <see cref="TemplateModelNotFoundException"/>.</exception>
    /// <exception cref="ModelNotFoundException">No model of that name has a pool for these types.</exception>
    /// <exception cref="InvalidModelNameException">A template serves the name, but the name is not valid.</exception>
    public TPrediction Predict(string modelName, TData input) => GetPool(modelName).Predict(input);

    /// <summary>Predicts one example with the model <paramref name="modelName"/> into a caller-owned output.</summary>
    /// <exception cref="ModelLoadException">The model could not be loaded; the message names the model.</exception>
    public void Predict(string modelName, TData input, ref TPrediction output) => GetPool(modelName).Predict(input, ref output);

    /// <summary>Disposes the pools made for template models (registered models' pools belong to the container).</summary>
    public void Dispose()
    {
        List<PredictionPool<TData, TPrediction>> pools = [];
        lock (_createLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (KeyValuePair<IModelCache<ITransformer>, PredictionPool<TData, TPrediction>> entry in _templatePools)
            {
                pools.Add(entry.Value);
            }

            _templatePools.Clear();
        }

        foreach (PredictionPool<TData, TPrediction> pool in pools)
        {
            pool.Dispose();
        }
    }

    /// <summary>
    /// A template model not yet remembered by name: the provider's lookup of the cache, then the pool kept with it (both
    /// lock-free reads that allocate nothing); anything else (first use, a forgotten name, an unknown one) goes out of line.
    /// </summary>
    private PredictionPool<TData, TPrediction> GetTemplatePool(string modelName)
    {
        if (ServedByTemplate(modelName) && _provider!.GetCache<ITransformer>(modelName) is { } cache && _templatePools.TryGetValue(cache, out PredictionPool<TData, TPrediction>? pool))
        {
            RememberIfServed(modelName, cache, pool);
            return pool;
        }

        return Resolve(modelName);
    }

    // A template model that has served is never dropped by the provider (only names whose first load fails are, and
    // evicted models keep their cache), so from then on its pool is found by name, in one lookup. Before that, the name
    // goes through the provider on every call, so a dropped name is never served from here.
    private void RememberIfServed(string modelName, IModelCache<ITransformer> cache, PredictionPool<TData, TPrediction> pool)
    {
        if (cache.Version is not null)
        {
            _pools.TryAdd(modelName, pool);
        }
    }

    // Whether a template of these types may serve the name: checked before the provider is asked, so a name meant
    // for no pool never makes a cache (the provider makes one for any name a template serves).
    private bool ServedByTemplate(string modelName)
    {
        string[] prefixes = _templatePrefixes;
        for (int i = 0; i < prefixes.Length; i++)
        {
            if (modelName.StartsWith(prefixes[i], StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private PredictionPool<TData, TPrediction> Resolve(string modelName)
    {
        if (Array.IndexOf(_names, modelName) >= 0)
        {
            return _pools.GetOrAdd(modelName, static (name, services) => services.GetRequiredKeyedService<PredictionPool<TData, TPrediction>>(name), _services);
        }

        if (!ServedByTemplate(modelName))
        {
            throw Unknown(modelName, servedBy: null);
        }

        // ArgumentException (an invalid name) and InvalidOperationException (a model of another type) say it best as they are.
        IModelCache<ITransformer> cache = _provider!.GetCache<ITransformer>(modelName);
        TemplatePoolSettings<TData, TPrediction> settings = TemplatePoolSettings<TData, TPrediction>.Of(cache, _templates)
            ?? throw Unknown(modelName, servedBy: cache);
        lock (_createLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_templatePools.TryGetValue(cache, out PredictionPool<TData, TPrediction>? pool))
            {
                // The pools' instruments on the application's IMeterFactory, created with the first pool.
                _ = _services.GetService<PredictionPoolMetrics>();
                pool = new PredictionPool<TData, TPrediction>(
                    cache,
                    _services.GetRequiredService<IOptions<MLOptions>>().Value.MLContext,
                    settings.PoolOptions,
                    _services.GetService<ILoggerFactory>());
                _templatePools.Add(cache, pool);
            }

            RememberIfServed(modelName, cache, pool);
            return pool;
        }
    }

    private ModelNotFoundException Unknown(string modelName, IModelCache<ITransformer>? servedBy)
    {
        string shown = PredictionPoolNames.Shorten(modelName);
        string types = $"{typeof(TData).Name} → {typeof(TPrediction).Name}";
        string known = _names.Length == 0 ? "no registered model has one" : "models with one: " + string.Join(", ", _names.Select(static n => $"'{n}'"));
        string templates = _templates.Length == 0
            ? string.Empty
            : "; templates with one: " + string.Join(", ", _templates.Select((t, i) => _templatePrefixes[i].Length == 0 ? $"'{t.TemplateName}' (every name)" : $"'{t.TemplateName}' (names starting with '{_templatePrefixes[i]}')"));
        string why = servedBy is null
            ? $"No model named '{shown}' has a prediction pool for {types}"
            : $"Model '{shown}' exists but has no prediction pool for {types} (it is registered, or made from a template, without .WithPredictionPool<{typeof(TData).Name}, {typeof(TPrediction).Name}>())";
        return new ModelNotFoundException(modelName, $"{why} (register it with AddModel<ITransformer>(name, m => m.UseMLNet().WithPredictionPool<{typeof(TData).Name}, {typeof(TPrediction).Name}>()), or AddModelTemplate with the same); {known}{templates}.", _names);
    }

    /// <summary>
    /// The pool an unkeyed <c>PredictionPool&lt;TData, TPrediction&gt;</c> resolves to: the only registered model with a pool
    /// of these types. With several (or a template, which makes one per name) the name must be given.
    /// </summary>
    /// <exception cref="InvalidOperationException">There is not exactly one; the message names the models and templates and says to use <c>[FromKeyedServices("name")]</c>.</exception>
    internal PredictionPool<TData, TPrediction> GetOnlyPool()
    {
        if (_names.Length == 1 && _templates.Length == 0)
        {
            return GetPool(_names[0]);
        }

        string types = $"PredictionPool<{typeof(TData).Name}, {typeof(TPrediction).Name}>";
        string models = _names.Length switch
        {
            0 => "no registered model",
            1 => $"the model '{_names[0]}'",
            _ => $"{_names.Length} models ({string.Join(", ", _names.Select(static n => $"'{n}'"))})",
        };
        string templates = _templates.Length == 0 ? string.Empty : $" and {_templates.Length} template(s) ({string.Join(", ", _templates.Select(static t => $"'{t.TemplateName}'"))}), which make one per model name,";
        string example = _names.Length > 0 ? _names[0] : "tenant-42";
        throw new InvalidOperationException(
            $"An unkeyed {types} was asked for, but {models}{templates} {(_names.Length == 1 && _templates.Length == 0 ? "has" : "have")} a pool of these types: say which model with [FromKeyedServices(\"{example}\")] {types} " +
            $"(or sp.GetRequiredKeyedService<{types}>(\"{example}\")), or inject PredictionPoolProvider<{typeof(TData).Name}, {typeof(TPrediction).Name}> and pass the name per call. " +
            "An unkeyed pool is registered for an application with exactly one model of these types.");
    }

    /// <summary>Whether this provider has a pool for <paramref name="cache"/>: a registered model's, or its template's.</summary>
    internal bool HasPoolFor(string modelName, IModelCache<ITransformer> cache) =>
        Array.IndexOf(_names, modelName) >= 0 || TemplatePoolSettings<TData, TPrediction>.Of(cache, _templates) is not null;
}
