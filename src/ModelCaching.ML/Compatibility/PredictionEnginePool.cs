using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.ML;
using ModelCaching.ML.Diagnostics;

namespace ModelCaching.ML.Compatibility;

/// <summary>
/// A pool of <see cref="PredictionEngine{TSrc, TDst}"/>s with the API of Microsoft.Extensions.ML's
/// <c>PredictionEnginePool</c>, served by ModelCaching: each model lives in a model cache (loaded once, swapped
/// whole after a schema check, kept on the last good version when a new one is bad) and its engines in a
/// <see cref="PredictionPool{TData, TPrediction}"/> (per-core slots, no allocation of its own per call).
/// </summary>
/// <typeparam name="TData">The input type.</typeparam>
/// <typeparam name="TPrediction">The output type.</typeparam>
public class PredictionEnginePool<TData, TPrediction> : IDisposable
    where TData : class
    where TPrediction : class, new()
{
    private readonly IServiceProvider _serviceProvider;
    private readonly MLContext _context;
    private readonly IOptionsFactory<PredictionEnginePoolOptions<TData, TPrediction>> _optionsFactory;
    private readonly ILoggerFactory? _loggerFactory;
    private readonly ConcurrentDictionary<string, ModelEntry> _models = new(StringComparer.Ordinal);
    private readonly Lock _createLock = new();

    // Models of the application's IModelCacheProvider with no ModelLoader of the pool's (a template's, say).
    private readonly ProviderModelPools<TData, TPrediction> _providerModels;

    // The default (unnamed) model is the common case: one field read instead of a dictionary lookup.
    private volatile ModelEntry? _default;

    // The named model used last: most callers pass the same name (often the same string instance) on every call,
    // so a reference or short ordinal comparison replaces hashing the name. Written only when the name changes.
    private volatile ModelEntry? _last;
    private bool _disposed;

    /// <summary>Initializes a new instance of <see cref="PredictionEnginePool{TData, TPrediction}"/>.</summary>
    /// <param name="serviceProvider">The application's services.</param>
    /// <param name="mlContextOptions">The <see cref="MLOptions"/> whose context loads the models and creates the engines.</param>
    /// <param name="predictionEngineOptions">Creates the options (the <see cref="ModelLoader"/>) of each named model.</param>
    public PredictionEnginePool(
        IServiceProvider serviceProvider,
        IOptions<MLOptions> mlContextOptions,
        IOptionsFactory<PredictionEnginePoolOptions<TData, TPrediction>> predictionEngineOptions)
    {
        ArgumentNullException.ThrowIfNull(serviceProvider);
        ArgumentNullException.ThrowIfNull(mlContextOptions);
        ArgumentNullException.ThrowIfNull(predictionEngineOptions);
        _serviceProvider = serviceProvider;
        _context = mlContextOptions.Value.MLContext;
        _optionsFactory = predictionEngineOptions;
        _loggerFactory = serviceProvider.GetService<ILoggerFactory>();
        _providerModels = new ProviderModelPools<TData, TPrediction>(serviceProvider, _context, _loggerFactory);

        // The pools' instruments on the application's IMeterFactory, created with the first pool.
        _ = serviceProvider.GetService<PredictionPoolMetrics>();
    }

    /// <summary>Gets the model of the default (unnamed) model registration.</summary>
    /// <exception cref="ArgumentException">No default model is configured (as in Microsoft.Extensions.ML); the message lists the named ones.</exception>
    /// <exception cref="ModelLoadException">The model could not be loaded.</exception>
    public ITransformer GetModel() => GetModel(string.Empty);

    /// <summary>Gets the model <paramref name="modelName"/>.</summary>
    /// <param name="modelName">
    /// The name of the model, which tells apart models with the same <typeparamref name="TData"/> and
    /// <typeparamref name="TPrediction"/> types; <see cref="string.Empty"/> is the default model.
    /// </param>
    /// <exception cref="KeyNotFoundException">No model of that name is configured, and no template serves it; the message lists the known names.</exception>
    /// <exception cref="ArgumentException"><paramref name="modelName"/> is <see cref="string.Empty"/> and no default model is configured, or a template serves the name and it is not valid (<see cref="ModelNames"/>).</exception>
    /// <exception cref="ModelLoadException">The model could not be loaded (a template's file does not exist, say); the message names the model.</exception>
    public ITransformer GetModel(string modelName) => GetPool(modelName).Cache.GetModel();

    /// <summary>
    /// Rents an engine of the default model. Give it back with <see cref="ReturnPredictionEngine(PredictionEngine{TData, TPrediction})"/>;
    /// prefer the <c>Predict</c> extension, which does both.
    /// </summary>
    /// <exception cref="ArgumentException">No default model is configured; the message lists the named ones.</exception>
    public PredictionEngine<TData, TPrediction> GetPredictionEngine() => GetPredictionEngine(string.Empty);

    /// <summary>Rents an engine of the model <paramref name="modelName"/>; give it back with <see cref="ReturnPredictionEngine(string, PredictionEngine{TData, TPrediction})"/>.</summary>
    /// <param name="modelName">The name of the model; <see cref="string.Empty"/> is the default model.</param>
    /// <exception cref="KeyNotFoundException">No model of that name is configured; the message lists the known names.</exception>
    /// <exception cref="ArgumentException"><paramref name="modelName"/> is <see cref="string.Empty"/> and no default model is configured.</exception>
    public PredictionEngine<TData, TPrediction> GetPredictionEngine(string modelName) => GetPool(modelName).RentEngine();

    /// <summary>Returns an engine rented from the default model to the generation it came from.</summary>
    /// <param name="engine">The rented engine.</param>
    public void ReturnPredictionEngine(PredictionEngine<TData, TPrediction> engine) => ReturnPredictionEngine(string.Empty, engine);

    /// <summary>
    /// Returns an engine rented from the model <paramref name="modelName"/> to the generation it came from. After
    /// a reload, an engine of the old generation is disposed instead of joining the new model's engines.
    /// </summary>
    /// <param name="modelName">The name of the model; <see cref="string.Empty"/> is the default model.</param>
    /// <param name="engine">The rented engine.</param>
    /// <exception cref="ArgumentNullException"><paramref name="engine"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The engine was not rented from this model's pool.</exception>
    public void ReturnPredictionEngine(string modelName, PredictionEngine<TData, TPrediction> engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        if (Volatile.Read(ref _disposed))
        {
            // A request finishing after shutdown (its finally block returns the engine): nothing to return it to.
            engine.Dispose();
            return;
        }

        GetPool(modelName).ReturnEngine(engine);
    }

    /// <summary>Disposes the engines and the model caches this pool created.</summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes the engines and the model caches this pool created.</summary>
    /// <param name="disposing">Whether this is called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposing)
        {
            return;
        }

        lock (_createLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        foreach (ModelEntry entry in _models.Values)
        {
            entry.Dispose();
        }

        _providerModels.Dispose();
        _models.Clear();
        _default = null;
        _last = null;
    }

    /// <summary>The prediction pool of the model <paramref name="modelName"/>, created on first use.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal PredictionPool<TData, TPrediction> GetPool(string modelName)
    {
        if (modelName is { Length: 0 } && _default is { } defaultEntry)
        {
            return defaultEntry.Pool;
        }

        if (_last is { } last && (ReferenceEquals(last.Name, modelName) || string.Equals(last.Name, modelName, StringComparison.Ordinal)))
        {
            return last.Pool;
        }

        return GetPoolSlow(modelName);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private PredictionPool<TData, TPrediction> GetPoolSlow(string modelName)
    {
        ArgumentNullException.ThrowIfNull(modelName);
        if (_models.TryGetValue(modelName, out ModelEntry? existing))
        {
            _last = existing;
            return existing.Pool;
        }

        // A model of the provider's (a template's, say): its cache, found again on every call, then the pool kept
        // with it. Never remembered in _last or _models, so a name the provider forgot cannot be served from here.
        if (_providerModels.Any && modelName.Length > 0 && _providerModels.TryGet(modelName) is { } providerPool)
        {
            return providerPool;
        }

        lock (_createLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_models.TryGetValue(modelName, out existing))
            {
                return existing.Pool;
            }

            PredictionEnginePoolOptions<TData, TPrediction> options = _optionsFactory.Create(modelName);
            if (options.ModelLoader is null)
            {
                return CreateProviderPool(modelName);
            }

            existing = CreateEntry(modelName, options.ModelLoader);
            _models[modelName] = existing;
            if (modelName.Length == 0)
            {
                _default = existing;
            }

            return existing.Pool;
        }
    }

    /// <summary>
    /// A name with no <see cref="ModelLoader"/> of the pool's: a model of the application's <see cref="IModelCacheProvider"/>,
    /// made from a template (<c>AddModelTemplate&lt;ITransformer&gt;</c>) or registered with <c>AddModel&lt;ITransformer&gt;</c>.
    /// Its schema check is its own (the template's <c>ValidateSchema</c> or <c>WithPredictionPool</c>), run before each
    /// generation serves. Called under the creation lock.
    /// </summary>
    private PredictionPool<TData, TPrediction> CreateProviderPool(string modelName)
    {
        // As Microsoft.Extensions.ML: no default model is an ArgumentException (a template is not asked for "default").
        if (modelName.Length == 0 || !_providerModels.HasProvider)
        {
            throw UnknownModel(modelName);
        }

        IModelCache<ITransformer> cache;
        try
        {
            cache = _providerModels.GetCache(modelName);
        }
        catch (KeyNotFoundException ex)
        {
            throw UnknownModel(modelName, ex);
        }

        return _providerModels.GetOrAdd(modelName, cache);
    }

    private ModelEntry CreateEntry(string modelName, ModelLoader loader)
    {
        // Every model the builder or the options name is a model of the cache (PredictionEnginePoolModels), which
        // owns it: the pool only adds engines.
        string name = PredictionEnginePoolDefaults.CacheName(modelName);
        if (_serviceProvider.GetService<IModelCacheProvider>() is { } provider && provider.Names.Contains(name, StringComparer.Ordinal))
        {
            IModelCache<ITransformer> shared = provider.GetCache<ITransformer>(name);
            return new ModelEntry(modelName, shared, new PredictionPool<TData, TPrediction>(shared, _context, options: null, _loggerFactory), owned: null);
        }

        // A name configured after the provider was built: a cache of the pool's own, with the same pipeline.
        var cacheOptions = new ModelOptions<ITransformer>();
        loader.ConfigureCache(cacheOptions, _context);
        IModelSource? source = cacheOptions.Source;
        cacheOptions.Validators.Add(PredictionSchema.CreateValidator<TData, TPrediction>(_context, name));
        var cache = new ModelCache<ITransformer>(name, cacheOptions, _serviceProvider.GetService<TimeProvider>(), _loggerFactory);
        return new ModelEntry(modelName, cache, new PredictionPool<TData, TPrediction>(cache, _context, options: null, _loggerFactory), new OwnedCache(cache, source));
    }

    // As Microsoft.Extensions.ML: no default model is an ArgumentException; an unknown name, a KeyNotFoundException.
    private Exception UnknownModel(string modelName, Exception? providerError = null)
    {
        string[] known = [.. _serviceProvider.GetServices<PoolModelRegistration>()
            .Where(static r => r.DataType == typeof(TData) && r.PredictionType == typeof(TPrediction))
            .Select(static r => r.ModelName)
            .Distinct(StringComparer.Ordinal)
            .Select(static n => n.Length == 0 ? "the default model" : $"'{n}'")];
        string what = modelName.Length == 0 ? "No default (unnamed) model is" : $"No model named '{PredictionPoolNames.Shorten(modelName)}' is";
        string list = known.Length == 0 ? "none are configured" : "configured: " + string.Join(", ", known);
        string provider = providerError is null ? string.Empty : $" The model cache: {providerError.Message}";
        string message =
            $"{what} configured for PredictionEnginePool<{typeof(TData).Name}, {typeof(TPrediction).Name}> (add it with AddPredictionEnginePool<{typeof(TData).Name}, {typeof(TPrediction).Name}>().FromFile(...) or FromUri(...), set PredictionEnginePoolOptions.ModelLoader, or serve it from a template with AddModelCache().AddModelTemplate<ITransformer>(...)); {list}.{provider}";
        return modelName.Length == 0 ? new ArgumentException(message, nameof(modelName)) : new KeyNotFoundException(message, providerError);
    }

    /// <summary>A cache the pool created itself, disposed with its source.</summary>
    private sealed class OwnedCache(ModelCache<ITransformer> cache, IModelSource? source) : IDisposable
    {
        public void Dispose()
        {
            cache.Dispose();
            (source as IDisposable)?.Dispose();
        }
    }

    /// <summary>One model: its cache, its engine pool, and what to dispose with it.</summary>
    private sealed class ModelEntry(string name, IModelCache<ITransformer> cache, PredictionPool<TData, TPrediction> pool, IDisposable? owned) : IDisposable
    {
        public string Name { get; } = name;

        public IModelCache<ITransformer> Cache { get; } = cache;

        public PredictionPool<TData, TPrediction> Pool { get; } = pool;

        public void Dispose()
        {
            Pool.Dispose();
            owned?.Dispose();
        }
    }
}
