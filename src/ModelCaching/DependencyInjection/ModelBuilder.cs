using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ModelCaching;

/// <summary>
/// Configures one named model: where it comes from, how it loads, and its policy. Returned to the
/// <c>configure</c> callback of <c>AddModel</c>; every method returns the builder for chaining.
/// </summary>
/// <typeparam name="TModel">The model type.</typeparam>
public sealed class ModelBuilder<TModel>
    where TModel : class
{
    internal ModelBuilder(string name, IServiceCollection services)
    {
        Name = name;
        Services = services;
    }

    /// <summary>The model's name.</summary>
    public string Name { get; }

    /// <summary>The service collection, for extensions that register services of their own.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Changes the model's options.</summary>
    public ModelBuilder<TModel> Configure(Action<ModelOptions<TModel>> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.AddOptions<ModelOptions<TModel>>(Name).Configure(configure);
        return this;
    }

    /// <summary>Changes the model's options with access to the application's services.</summary>
    public ModelBuilder<TModel> Configure(Action<ModelOptions<TModel>, IServiceProvider> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.AddOptions<ModelOptions<TModel>>(Name).Configure<IServiceProvider>(configure);
        return this;
    }

    /// <summary>Loads the model from the file at <paramref name="path"/>, and reloads it when it changes if <paramref name="watchForChanges"/> is on.</summary>
    /// <param name="path">The model file; relative paths are resolved against the current directory.</param>
    /// <param name="watchForChanges">
    /// Whether to watch the file's directory (file-system events, with an automatic fallback to polling)
    /// and reload on a complete change: overwrites, renames, deletes, ConfigMap symlink swaps, the <c>.sha256</c> sidecar.
    /// </param>
    public ModelBuilder<TModel> FromFile(string path, bool watchForChanges = false) =>
        FromFile(path, options => options.WatchForChanges = watchForChanges);

    /// <summary>Loads the model from the file at <paramref name="path"/>, with watching settings (polling, debounce, stability wait).</summary>
    /// <param name="path">The model file; relative paths are resolved against the current directory.</param>
    /// <param name="configure">Sets how changes are detected; turn on <see cref="FileModelSourceOptions.WatchForChanges"/> to reload on change.</param>
    public ModelBuilder<TModel> FromFile(string path, Action<FileModelSourceOptions> configure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(configure);
        var fileOptions = new FileModelSourceOptions();
        configure(fileOptions);
        return Configure((options, services) =>
        {
            options.Source = new FileModelSource(path, fileOptions, services.GetService<TimeProvider>(), services.GetService<ILoggerFactory>());
            options.OwnsSource = true; // the cache disposes it (its watcher and timers) with itself
        });
    }

    /// <summary>
    /// Downloads the model from <paramref name="uri"/> with the <see cref="IHttpClientFactory"/> client
    /// <see cref="HttpModelSourceOptions.HttpClientName"/>, polling for a new version with conditional GETs.
    /// </summary>
    /// <param name="uri">The model's address: https, or http with <see cref="HttpModelSourceOptions.AllowHttp"/>.</param>
    /// <param name="configure">Changes the polling interval, jitter, timeout and what is accepted.</param>
    /// <exception cref="ArgumentException">The address is not absolute https (or http without AllowHttp); the message names the model.</exception>
    public ModelBuilder<TModel> FromHttp(Uri uri, Action<HttpModelSourceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var httpOptions = new HttpModelSourceOptions { Uri = uri };
        configure?.Invoke(httpOptions);
        httpOptions.Validate(Name);
        Services.AddHttpClient(httpOptions.HttpClientName);
        return Configure((options, services) =>
        {
            options.Source = new HttpModelSource(httpOptions, services.GetRequiredService<IHttpClientFactory>(), services.GetService<TimeProvider>(), services.GetService<ILoggerFactory>());
            options.OwnsSource = true; // the cache disposes it (its polling timer) with itself
        });
    }

    /// <inheritdoc cref="FromHttp(Uri, Action{HttpModelSourceOptions}?)"/>
    public ModelBuilder<TModel> FromHttp(string uri, Action<HttpModelSourceOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uri);
        if (!Uri.TryCreate(uri, UriKind.Absolute, out Uri? parsed))
        {
            throw new ArgumentException($"Model '{Name}': '{AddressRedaction.Redact(uri)}' is not an absolute address.", nameof(uri));
        }

        return FromHttp(parsed, configure);
    }

    /// <summary>Loads the model from a stream that <paramref name="open"/> returns (blob storage, a database, a resource).</summary>
    public ModelBuilder<TModel> FromStream(Func<CancellationToken, ValueTask<Stream>> open, string description = "stream")
    {
        ArgumentNullException.ThrowIfNull(open);
        return Configure(options => options.Source = new StreamModelSource(open, description));
    }

    /// <summary>Loads the model from a source of your own.</summary>
    public ModelBuilder<TModel> FromSource(IModelSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return Configure(options => options.Source = source);
    }

    /// <summary>Loads the model from a source built from the application's services.</summary>
    public ModelBuilder<TModel> FromSource(Func<IServiceProvider, IModelSource> sourceFactory)
    {
        ArgumentNullException.ThrowIfNull(sourceFactory);
        return Configure((options, services) => options.Source = sourceFactory(services));
    }

    /// <summary>
    /// Builds the model with a factory instead of a source and a loader. Each load calls the factory; the
    /// version is the generation number.
    /// </summary>
    public ModelBuilder<TModel> FromFactory(Func<CancellationToken, ValueTask<TModel>> factory, string description = "factory")
    {
        ArgumentNullException.ThrowIfNull(factory);
        return FromFactory(new DelegateModelFactory<TModel>(factory, description));
    }

    /// <summary>
    /// Builds the model with <paramref name="factory"/> instead of a source and a loader; each load calls it, its change
    /// token triggers reloads, and handing back the serving instance is "unchanged". The version is the generation number.
    /// </summary>
    public ModelBuilder<TModel> FromFactory(IModelFactory<TModel> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return Configure(options => options.Factory = factory);
    }

    /// <summary>Turns the source's bytes into a model with <paramref name="loader"/>.</summary>
    public ModelBuilder<TModel> UseLoader(IModelLoader<TModel> loader)
    {
        ArgumentNullException.ThrowIfNull(loader);
        return Configure(options => options.Loader = loader);
    }

    /// <summary>Turns the source's bytes into a model with a delegate.</summary>
    public ModelBuilder<TModel> UseLoader(Func<ModelArtifact, CancellationToken, ValueTask<TModel>> load)
    {
        ArgumentNullException.ThrowIfNull(load);
        return UseLoader(new DelegateModelLoader<TModel>(load));
    }

    /// <summary>Turns the source's bytes into a model with a loader built from the application's services.</summary>
    public ModelBuilder<TModel> UseLoader(Func<IServiceProvider, IModelLoader<TModel>> loaderFactory)
    {
        ArgumentNullException.ThrowIfNull(loaderFactory);
        return Configure((options, services) => options.Loader = loaderFactory(services));
    }

    /// <summary>Loads the model on first use (the default).</summary>
    public ModelBuilder<TModel> Lazy() => Configure(static options => options.Policy = ModelLoadPolicy.Lazy);

    /// <summary>Loads the model when the host starts.</summary>
    /// <param name="waitForStartup">Whether host start-up waits until the model is loaded.</param>
    public ModelBuilder<TModel> Eager(bool waitForStartup = false) => Configure(options =>
    {
        options.Policy = ModelLoadPolicy.Eager;
        options.WaitForStartup = waitForStartup;
    });

    /// <summary>
    /// Loads the model on first use and makes it expire (<see cref="ModelLoadPolicy.Expiring"/>): reloaded in the
    /// background before <paramref name="timeToLive"/> runs out (refresh-ahead), and/or unloaded after
    /// <paramref name="idleTimeout"/> without use. The same as <c>"Policy": "Expiring"</c> with
    /// <c>TimeToLive</c>/<c>IdleTimeout</c> in configuration. Combined with <see cref="Eager"/> (in either order) the
    /// model loads at start and still expires.
    /// </summary>
    /// <exception cref="ArgumentException">Neither a time-to-live nor an idle timeout is given.</exception>
    public ModelBuilder<TModel> Expiring(TimeSpan? timeToLive = null, TimeSpan? idleTimeout = null)
    {
        if (timeToLive is null && idleTimeout is null)
        {
            throw new ArgumentException($"Model '{Name}': Expiring needs a time-to-live, an idle timeout, or both.", nameof(timeToLive));
        }

        return Configure(options =>
        {
            // An eager model stays eager: it loads at start, then expires like any other.
            if (options.Policy != ModelLoadPolicy.Eager)
            {
                options.Policy = ModelLoadPolicy.Expiring;
            }

            options.TimeToLive = timeToLive ?? options.TimeToLive;
            options.IdleTimeout = idleTimeout ?? options.IdleTimeout;
        });
    }

    /// <summary>Checks each new generation before it serves; throw to reject it (the last good model keeps serving).</summary>
    public ModelBuilder<TModel> Validate(Func<TModel, CancellationToken, ValueTask> validate)
    {
        ArgumentNullException.ThrowIfNull(validate);
        return Configure(options => options.Validators.Add(validate));
    }

    /// <summary>Runs work on each new generation before it serves and before readiness (one prediction, say).</summary>
    public ModelBuilder<TModel> WarmUp(Func<TModel, CancellationToken, ValueTask> warmUp)
    {
        ArgumentNullException.ThrowIfNull(warmUp);
        return Configure(options => options.WarmUps.Add(warmUp));
    }

    /// <summary>Runs synchronous work on each new generation before it serves.</summary>
    public ModelBuilder<TModel> WarmUp(Action<TModel> warmUp)
    {
        ArgumentNullException.ThrowIfNull(warmUp);
        return WarmUp((model, _) =>
        {
            warmUp(model);
            return ValueTask.CompletedTask;
        });
    }
}
