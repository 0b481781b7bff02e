using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelCaching.Budget;
using ModelCaching.Diagnostics;

namespace ModelCaching;

/// <summary>
/// Creates each registered model's cache on first request and owns it: disposing the provider (at host
/// shutdown) disposes every cache, newest first. A name no model is registered under is made from the template
/// that serves it (<c>AddModelTemplate</c>), after its name is checked.
/// </summary>
internal sealed partial class ModelCacheProvider : IModelCacheProvider, IModelCacheOwner, ModelCacheMetrics.ITemplateModels, IAsyncDisposable, IDisposable
{
    private readonly IServiceProvider _services;
    private readonly Dictionary<string, ModelRegistration> _registrations;
    // One entry per name: the cache, or while it is being made the Lazy that makes it once (then replaced by the cache).
    // An owned cache keeps the order it was made in (IOwnedModelCache.OwnerOrder: disposed newest first).
    private readonly ConcurrentDictionary<string, object> _caches = new(StringComparer.Ordinal);
    // The caches made that keep no order of their own (not a ModelCache<T>), with their order; forgotten ones leave it.
    private readonly ConcurrentDictionary<IModelCache, long> _unowned = new(ReferenceEqualityComparer.Instance);
    private long _createdCount;
    // The caches made up to this order were taken for disposal already (disposing twice disposes each once).
    private long _takenUpTo;
    // 1 once Dispose or DisposeAsync has started: no cache is made or handed out new from then on.
    private int _disposed;
    private readonly ModelTemplateSet _templates;
    private readonly ILogger _logger;

    public ModelCacheProvider(IServiceProvider services, IEnumerable<ModelRegistration> registrations, IEnumerable<DeferredModelRegistration> deferred, IEnumerable<ModelTemplate> templates, IOptions<ModelCacheOptions> options, TimeProvider timeProvider, ILoggerFactory loggerFactory, ModelCacheMetrics metrics)
    {
        _services = services;
        _registrations = new Dictionary<string, ModelRegistration>(StringComparer.Ordinal);
        var names = new List<string>();
        foreach (ModelRegistration registration in registrations)
        {
            if (_registrations.TryAdd(registration.Name, registration))
            {
                names.Add(registration.Name);
            }
        }

        foreach (DeferredModelRegistration group in deferred)
        {
            foreach (string name in group.DiscoverNames(services))
            {
                if (!_registrations.TryAdd(name, group.ForName(name)))
                {
                    throw new InvalidOperationException($"Model '{name}' is registered twice (by AddModel and by an extension such as AddPredictionEnginePool, or by two prediction engine pools): give each model its own name.");
                }

                names.Add(name);
            }
        }

        _registeredNames = names;
        _logger = loggerFactory.CreateLogger("ModelCaching.ModelCacheProvider");
        TimeProvider = timeProvider;
        LoggerFactory = loggerFactory;
        Metrics = metrics;
        LoadLimiter = new ModelLoadLimiter(options.Value.MaxConcurrentLoads, options.Value.LoadQueueTimeout);
        metrics.Register(LoadLimiter);
        if (options.Value.MemoryBudgetBytes is { } limit)
        {
            Budget = new MemoryBudget("provider", limit, timeProvider);
            metrics.Register(Budget);
        }

        _templates = new ModelTemplateSet(services, templates, _registrations, Budget, timeProvider, loggerFactory, metrics);
        if (_templates.Any)
        {
            // The metrics read the template models from here (TemplateModels), not from one registration each.
            metrics.Register(this);
        }
    }

    /// <summary>The provider's memory budget (<see cref="ModelCacheOptions.MemoryBudgetBytes"/>), if any.</summary>
    internal MemoryBudget? Budget { get; }

    public IReadOnlyList<ModelMemoryBudgetStatus> GetMemoryBudgets()
    {
        var budgets = new List<ModelMemoryBudgetStatus>();
        foreach (MemoryBudget budget in _templates.Budgets.Prepend(Budget).OfType<MemoryBudget>().Distinct())
        {
            MemorySnapshot snapshot = budget.Snapshot();
            budgets.Add(new ModelMemoryBudgetStatus
            {
                Scope = budget.Scope,
                LimitBytes = snapshot.Limit,
                ResidentBytes = snapshot.Resident,
                DrainingBytes = snapshot.Draining,
                ReservedBytes = snapshot.Reserved,
                WaitingLoads = snapshot.Waiting,
                Evictions = snapshot.Evictions,
            });
        }

        return budgets;
    }

    /// <summary>The names of the models made from templates so far and still kept (evicted ones included).</summary>
    internal IEnumerable<string> TemplateModelNames()
    {
        foreach (KeyValuePair<string, object> entry in _caches)
        {
            if (!_registrations.ContainsKey(entry.Key))
            {
                yield return entry.Key;
            }
        }
    }

    /// <summary>The registered models' names, in registration order, then the names of the models made from templates so far.</summary>
    public IReadOnlyList<string> Names => !_templates.Any ? _registeredNames : [.. _registeredNames, .. TemplateModelNames().Order(StringComparer.Ordinal)];

    private IReadOnlyList<string> _registeredNames = [];

    internal TimeProvider TimeProvider { get; }

    internal ILoggerFactory LoggerFactory { get; }

    internal ModelCacheMetrics Metrics { get; }

    internal ModelLoadLimiter LoadLimiter { get; }

    public IModelCache<TModel> GetCache<TModel>(string name)
        where TModel : class
    {
        // The hit: one dictionary lookup and a type check against the class (cheaper than against the interface).
        if (name is not null && _caches.TryGetValue(name, out object? existing) && existing is ModelCache<TModel> typed)
        {
            return typed;
        }

        IModelCache cache = GetCache(name!, typeof(TModel));
        return cache as IModelCache<TModel>
            ?? throw new InvalidOperationException($"Model '{name}' is registered as {cache.ModelType.FullName}, not {typeof(TModel).FullName}.");
    }

    public IModelCache GetCache(string name) => GetCache(name, modelType: null);

    private IModelCache GetCache(string name, Type? modelType)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_caches.TryGetValue(name, out object? existing))
        {
            return Made(name, existing);
        }

        if (_registrations.TryGetValue(name, out ModelRegistration? registration))
        {
            object entry = _caches.GetOrAdd(name, static (_, state) => new Lazy<IModelCache>(() => state.Provider.Create(state.Registration)), (Provider: this, Registration: registration));
            return Made(name, entry);
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        ModelTemplate template = _templates.Find(name, modelType) ?? throw Unknown(name, modelType);
        ModelNames.Validate(name, template.Name);
        object made = _caches.GetOrAdd(name, static (modelName, state) => new Lazy<IModelCache>(() => state.Provider.Create(state.Template, modelName)), (Provider: this, Template: template));
        try
        {
            return Made(name, made);
        }
        catch
        {
            // Options that do not validate: the name is not kept (the next use tries again, and fails the same way).
            _caches.TryRemove(KeyValuePair.Create(name, made));
            throw;
        }
    }

    public bool TryGetCache(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IModelCache? cache)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_caches.TryGetValue(name, out object? existing))
        {
            try
            {
                cache = Made(name, existing);
                return true;
            }
            catch (Exception ex) when (ex is OptionsValidationException or InvalidOperationException or ArgumentException or ModelLoadException)
            {
                // A template model whose options do not validate, or that this instance may not make (a fleet's placed
                // model another instance owns): GetCache drops the name and reports it.
                cache = null;
                return false;
            }
        }

        if (_registrations.ContainsKey(name))
        {
            cache = GetCache(name, modelType: null);
            return true;
        }

        cache = null;
        return false;
    }

    private ModelNotFoundException Unknown(string name, Type? modelType)
    {
        string known = _registeredNames.Count == 0 ? "none are registered" : "known models: " + string.Join(", ", _registeredNames.Select(static n => $"'{n}'"));
        string templates = _templates.Describe();
        string what = modelType is null ? string.Empty : $" of type {modelType.Name}";
        return new ModelNotFoundException(name, $"No model{what} named '{ModelNames.Shorten(name)}' is registered with AddModelCache().AddModel(...), and no template serves that name; {known}{templates}.", _registeredNames);
    }

    /// <summary>Whether the cache of <paramref name="name"/> has been built (by a first use, or at start for an eager model).</summary>
    internal bool IsCreated(string name) => _caches.ContainsKey(name);

    /// <summary>The load policy of a registered model, read from its options without building its cache; <see langword="null"/> when unknown until the cache is built.</summary>
    internal ModelLoadPolicy? PolicyOf(string name) => _registrations.TryGetValue(name, out ModelRegistration? registration) ? registration.PolicyOf(_services) : null;

    internal static ModelCache<TModel> CreateCache<TModel>(string name, IServiceProvider services, ModelCacheProvider provider)
        where TModel : class
    {
        ModelOptions<TModel> options = services.GetRequiredService<IOptionsMonitor<ModelOptions<TModel>>>().Get(name);
        return new ModelCache<TModel>(name, options, provider.TimeProvider, provider.LoggerFactory, provider.Metrics, provider.LoadLimiter, provider.Budget);
    }

    public void Dispose()
    {
        Interlocked.Exchange(ref _disposed, 1);
        Metrics.Unregister(this);
        foreach (IModelCache cache in TakeCreated())
        {
            (cache as IDisposable)?.Dispose();
        }

        LoadLimiter.Dispose();
    }

    /// <summary>
    /// Disposes every cache, newest first, then waits for the loads that were running to end: all caches together,
    /// under <see cref="ShutdownTimeout"/> in total whatever the number of models. A load whose callback ignores its
    /// token is left to end on its own (its thread is all it costs), and the models it leaves running are logged.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _disposed, 1);
        Metrics.Unregister(this);
        await ModelCacheClosing.CloseAllAsync(TakeCreated(), ShutdownTimeout, _logger).ConfigureAwait(false);
        LoadLimiter.Dispose();
    }

    /// <summary>How long disposing the provider (host shutdown) waits, in total, for running loads to end: 5 seconds.</summary>
    internal static TimeSpan ShutdownTimeout => ModelCache<object>.DisposeWaitForLoad;

    private IModelCache Create(ModelRegistration registration) => Own(registration.Create(_services, this));

    // The provider is the template model's owner: told when its first load fails (OnFirstLoadFailed).
    private IModelCache Create(ModelTemplate template, string name) => Own(template.Create(name, _services, this, _templates.BudgetOf(template)));

    /// <summary>
    /// A model made from a template failed its first load: the name is not kept, the failure is logged at most once per
    /// <see cref="NeverLoadedLog.Interval"/> per template, and the cache is disposed once its callers have their failure
    /// (disposing first would turn it into an <see cref="ObjectDisposedException"/>).
    /// </summary>
    void IModelCacheOwner.OnFirstLoadFailed(IModelCache cache, ModelLoadException failure, Task answered)
    {
        if (_templates.Find(cache.Name, cache.ModelType) is { } template)
        {
            _templates.NeverLoadedLogOf(template).Failed(cache.Name, cache.SourceDescription, failure);
        }

        if (_caches.TryGetValue(cache.Name, out object? entry) && (ReferenceEquals(entry, cache) || (entry is Lazy<IModelCache> { IsValueCreated: true } making && ReferenceEquals(making.Value, cache))))
        {
            _caches.TryRemove(KeyValuePair.Create(cache.Name, entry));
        }

        _unowned.TryRemove(cache, out _);
        answered.ContinueWith(static (_, state) => ((IDisposable)state!).Dispose(), cache, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }
}
