using System.Net.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Microsoft.ML;

namespace ModelCaching.ML.Compatibility;

/// <summary>
/// The <see cref="ModelLoader"/> behind <c>FromFile</c> and <c>FromUri</c>: a view of the named model in the model
/// cache (<see cref="IModelCacheProvider"/>), which owns the model, its source and its schema check. Nothing is
/// read while options are configured; the source is created when the provider creates the cache.
/// </summary>
internal sealed class CachedModelLoader : ModelLoader, IDisposable
{
    private readonly IServiceProvider _services;
    private readonly string _cacheName;
    private readonly Func<IServiceProvider, IModelSource> _createSource;
    private readonly Lock _subscribeLock = new();
    private IModelCache<ITransformer>? _cache;
    private ModelReloadToken _reloadToken = new();

    private CachedModelLoader(IServiceProvider services, string modelName, Func<IServiceProvider, IModelSource> createSource)
    {
        _services = services;
        _cacheName = PredictionEnginePoolDefaults.CacheName(modelName);
        _createSource = createSource;
    }

    /// <summary>The model's cache in the provider.</summary>
    public IModelCache<ITransformer> Cache => Volatile.Read(ref _cache) ?? Subscribe();

    public static CachedModelLoader ForFile(IServiceProvider services, string modelName, string filePath, bool watchForChanges) =>
        new(services, modelName, sp => new FileModelSource(
            ModelContentRoot.Resolve(sp, filePath), // against the host's content root; the current directory without a host
            new FileModelSourceOptions { WatchForChanges = watchForChanges },
            sp.GetService<TimeProvider>(),
            sp.GetService<ILoggerFactory>()));

    public static CachedModelLoader ForUri(IServiceProvider services, string modelName, Uri uri, TimeSpan period) =>
        new(services, modelName, sp =>
        {
            // Microsoft.Extensions.ML accepted http:// addresses; so do we here, for a drop-in migration.
            var options = new HttpModelSourceOptions { Uri = uri, PollingInterval = period, AllowHttp = true };
            return sp.GetService<IHttpClientFactory>() is { } clients
                ? new HttpModelSource(options, () => clients.CreateClient(options.HttpClientName), sp.GetService<TimeProvider>(), sp.GetService<ILoggerFactory>())
                : new HttpModelSource(options, sp.GetService<TimeProvider>(), sp.GetService<ILoggerFactory>());
        });

    /// <summary>Creates the model's source (the cache that receives it owns it).</summary>
    public IModelSource CreateSource() => _createSource(_services);

    // The cache reads the file or address itself, through the ML.NET loader, rather than asking this loader for models.
    internal override void ConfigureCache(ModelOptions<ITransformer> options, MLContext context)
    {
        options.Source = CreateSource();
        options.Loader = new MLNetModelLoader(context);
    }

    public override ITransformer GetModel() => Cache.GetModel();

    public override IChangeToken GetReloadToken()
    {
        _ = Cache; // subscribes to the cache's reloads, so the token fires
        return Volatile.Read(ref _reloadToken);
    }

    public void Dispose()
    {
        if (Volatile.Read(ref _cache) is { } cache)
        {
            cache.Reloaded -= OnReloaded;
        }
    }

    private IModelCache<ITransformer> Subscribe()
    {
        lock (_subscribeLock)
        {
            if (_cache is { } existing)
            {
                return existing;
            }

            IModelCache<ITransformer> cache = _services.GetRequiredService<IModelCacheProvider>().GetCache<ITransformer>(_cacheName);
            cache.Reloaded += OnReloaded;
            Volatile.Write(ref _cache, cache);
            return cache;
        }
    }

    private void OnReloaded(object? sender, ModelReloadedEventArgs e) => Interlocked.Exchange(ref _reloadToken, new ModelReloadToken()).OnReload();
}
