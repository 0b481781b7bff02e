using System.Net.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.ML;

namespace ModelCaching.ML.Compatibility;

/// <summary>
/// The <see cref="ModelLoader"/> behind <c>FromFile</c> and <c>FromUri</c>: a <see cref="ModelCache{TModel}"/>
/// over a file or HTTP source, created on first use (no I/O while options are configured), with the
/// schema check of the pool's types before every swap.
/// </summary>
internal sealed class CachedModelLoader : ModelLoader, IDisposable
{
    private readonly Lazy<(ModelCache<ITransformer> Cache, IModelSource Source)> _cache;
    private ModelReloadToken _reloadToken = new();

    private CachedModelLoader(Func<(ModelCache<ITransformer>, IModelSource)> create)
    {
        _cache = new Lazy<(ModelCache<ITransformer>, IModelSource)>(() =>
        {
            (ModelCache<ITransformer> cache, IModelSource source) = create();
            cache.Reloaded += OnReloaded;
            return (cache, source);
        });
    }

    /// <summary>The model's cache.</summary>
    public ModelCache<ITransformer> Cache => _cache.Value.Cache;

    public static CachedModelLoader ForFile<TData, TPrediction>(IServiceProvider services, string modelName, string filePath, bool watchForChanges)
        where TData : class
        where TPrediction : class, new() =>
        new(() => CreateCache<TData, TPrediction>(services, modelName, new FileModelSource(
            filePath,
            new FileModelSourceOptions { WatchForChanges = watchForChanges },
            services.GetService<TimeProvider>(),
            services.GetService<ILoggerFactory>())));

    public static CachedModelLoader ForUri<TData, TPrediction>(IServiceProvider services, string modelName, Uri uri, TimeSpan period)
        where TData : class
        where TPrediction : class, new() =>
        new(() =>
        {
            // Microsoft.Extensions.ML accepted http:// addresses; so do we here, for a drop-in migration.
            var options = new HttpModelSourceOptions { Uri = uri, PollingInterval = period, AllowHttp = true };
            HttpModelSource source = services.GetService<IHttpClientFactory>() is { } clients
                ? new HttpModelSource(options, clients, services.GetService<TimeProvider>(), services.GetService<ILoggerFactory>())
                : new HttpModelSource(options, services.GetService<TimeProvider>(), services.GetService<ILoggerFactory>());
            return CreateCache<TData, TPrediction>(services, modelName, source);
        });

    public override ITransformer GetModel() => Cache.GetModel();

    public override IChangeToken GetReloadToken() => Volatile.Read(ref _reloadToken);

    public void Dispose()
    {
        if (_cache.IsValueCreated)
        {
            (ModelCache<ITransformer> cache, IModelSource source) = _cache.Value;
            cache.Reloaded -= OnReloaded;
            cache.Dispose();
            (source as IDisposable)?.Dispose();
        }
    }

    internal static string CacheName(string modelName) => modelName.Length == 0 ? "(default)" : modelName;

    private static (ModelCache<ITransformer>, IModelSource) CreateCache<TData, TPrediction>(IServiceProvider services, string modelName, IModelSource source)
        where TData : class
        where TPrediction : class, new()
    {
        MLContext context = services.GetRequiredService<IOptions<MLOptions>>().Value.MLContext;
        string name = CacheName(modelName);
        var options = new ModelOptions<ITransformer> { Source = source, Loader = new MLNetModelLoader(context), ReloadOnChange = true };
        options.Validators.Add(PredictionSchema.CreateValidator<TData, TPrediction>(context, name));
        return (new ModelCache<ITransformer>(name, options, services.GetService<TimeProvider>(), services.GetService<ILoggerFactory>()), source);
    }

    private void OnReloaded(object? sender, ModelReloadedEventArgs e) => Interlocked.Exchange(ref _reloadToken, new ModelReloadToken()).OnReload();
}
