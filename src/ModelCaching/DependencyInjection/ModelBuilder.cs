using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ModelCaching;

/// <summary>
/// Configures one named model, or a template for many (<see cref="IsTemplate"/>): where it comes from, how it loads,
/// and its policy. Returned to the <c>configure</c> callback of <c>AddModel</c> and <c>AddModelTemplate</c>; every
/// method returns the builder for chaining.
/// </summary>
/// <typeparam name="TModel">The model type.</typeparam>
public sealed class ModelBuilder<TModel>
    where TModel : class
{
    // Set when the builder configures a template: each step is recorded and replayed for every name it serves.
    private readonly ModelTemplate<TModel>? _template;

    internal ModelBuilder(string name, IServiceCollection services, ModelTemplate<TModel>? template = null)
    {
        Name = name;
        Services = services;
        _template = template;
    }

    /// <summary>The model's name, or the template's name when <see cref="IsTemplate"/>.</summary>
    public string Name { get; }

    /// <summary>
    /// Whether this builder configures a template (<c>AddModelTemplate</c>): its settings are applied to each model made
    /// from it, and <c>{name}</c> in a path or an address stands for that model's name.
    /// </summary>
    public bool IsTemplate => _template is not null;

    /// <summary>The service collection, for extensions that register services of their own.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Changes the model's options.</summary>
    public ModelBuilder<TModel> Configure(Action<ModelOptions<TModel>> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        if (_template is not null)
        {
            _template.Add((options, _, _) => configure(options));
            return this;
        }

        Services.AddOptions<ModelOptions<TModel>>(Name).Configure(configure);
        return this;
    }

    /// <summary>Changes the model's options with access to the application's services.</summary>
    public ModelBuilder<TModel> Configure(Action<ModelOptions<TModel>, IServiceProvider> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return Configure((options, services, _) => configure(options, services));
    }

    /// <summary>
    /// Changes the model's options with access to the application's services and the model's name: for a template,
    /// the name of each model made from it.
    /// </summary>
    public ModelBuilder<TModel> Configure(Action<ModelOptions<TModel>, IServiceProvider, string> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        if (_template is not null)
        {
            _template.Add(configure);
            return this;
        }

        string name = Name;
        Services.AddOptions<ModelOptions<TModel>>(name).Configure<IServiceProvider>((options, services) => configure(options, services, name));
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
    /// <param name="path">The model file; a relative path is resolved against the host's content root (<c>IHostEnvironment.ContentRootPath</c>), or the current directory without a host. In a template, <c>{name}</c> stands for each model's name (<c>models/{name}.zip</c>).</param>
    /// <param name="configure">Sets how changes are detected; turn on <see cref="FileModelSourceOptions.WatchForChanges"/> to reload on change.</param>
    /// <exception cref="ArgumentException">A template's path has no <c>{name}</c> (every model would load the same file).</exception>
    public ModelBuilder<TModel> FromFile(string path, Action<FileModelSourceOptions> configure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(configure);
        RequireNamePlaceholder(path, nameof(path));
        var fileOptions = new FileModelSourceOptions();
        configure(fileOptions);
        return Configure((options, services, name) =>
        {
            // A template's name was validated (ModelNames) before it reaches the path: no separators, no "..".
            // A relative path is resolved against the host's content root (the current directory without a host).
            string file = ModelContentRoot.Resolve(services, IsTemplate ? path.Replace(NamePlaceholder, name, StringComparison.Ordinal) : path);
            options.Source = new FileModelSource(file, fileOptions, services.GetService<TimeProvider>(), services.GetService<ILoggerFactory>());
            options.OwnsSource = true; // the cache disposes it (its watcher and timers) with itself
        });
    }

    /// <summary>Loads the model from a stream that <paramref name="open"/> returns (blob storage, a database, a resource).</summary>
    /// <exception cref="InvalidOperationException">The builder configures a template: use <see cref="FromSource(Func{string, IServiceProvider, IModelSource})"/>, which knows each model's name.</exception>
    public ModelBuilder<TModel> FromStream(Func<CancellationToken, ValueTask<Stream>> open, string description = "stream")
    {
        ArgumentNullException.ThrowIfNull(open);
        ThrowIfTemplate(nameof(FromStream));
        return Configure(options => options.Source = new StreamModelSource(open, description));
    }

    /// <summary>Loads the model from a source of your own.</summary>
    /// <exception cref="InvalidOperationException">The builder configures a template: use <see cref="FromSource(Func{string, IServiceProvider, IModelSource})"/>, which makes a source per model.</exception>
    public ModelBuilder<TModel> FromSource(IModelSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        ThrowIfTemplate(nameof(FromSource));
        return Configure(options => options.Source = source);
    }

    /// <summary>
    /// Loads the model from a source that <paramref name="sourceFactory"/> makes for the model's name: in a template, one
    /// source per model made from it (blob storage, a database, a registry of your own). The cache owns the source and
    /// disposes it.
    /// </summary>
    public ModelBuilder<TModel> FromSource(Func<string, IServiceProvider, IModelSource> sourceFactory)
    {
        ArgumentNullException.ThrowIfNull(sourceFactory);
        return Configure((options, services, name) =>
        {
            options.Source = sourceFactory(name, services) ?? throw new InvalidOperationException($"Model '{name}': the source factory returned null.");
            options.OwnsSource = true;
        });
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
    /// Builds the model with a factory given the model's name: in a template, each model made from it calls
    /// <paramref name="factory"/> with its own name. The version is the generation number.
    /// </summary>
    public ModelBuilder<TModel> FromFactory(Func<string, CancellationToken, ValueTask<TModel>> factory, string description = "factory")
    {
        ArgumentNullException.ThrowIfNull(factory);
        var template = new TemplateModelFactory<TModel>(factory, description); // One for all the template's models: they keep it, not a factory each.
        return Configure((options, _, name) => options.Factory = new NamedModelFactory<TModel>(template, name));
    }

    /// <summary>
    /// Builds the model with <paramref name="factory"/> instead of a source and a loader; each load calls it, its change
    /// token triggers reloads, and handing back the serving instance is "unchanged". The version is the generation number.
    /// </summary>
    public ModelBuilder<TModel> FromFactory(IModelFactory<TModel> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ThrowIfTemplate(nameof(FromFactory));
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
    /// <exception cref="InvalidOperationException">The builder configures a template, whose models are made on first use (use <see cref="Pin"/> to keep them in memory).</exception>
    public ModelBuilder<TModel> Eager(bool waitForStartup = false)
    {
        ThrowIfTemplate(nameof(Eager));
        return Configure(options =>
        {
            options.Policy = ModelLoadPolicy.Eager;
            options.WaitForStartup = waitForStartup;
        });
    }

    /// <summary>Keeps the model in memory under a memory budget: a pinned model is never evicted (<see cref="ModelOptions.Pinned"/>).</summary>
    public ModelBuilder<TModel> Pin() => Configure(static options => options.Pinned = true);

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

    internal const string NamePlaceholder = "{name}";

    /// <summary>Throws when a template's path or address has no <c>{name}</c>; for <c>FromFile</c> and ModelCaching.Http's <c>FromHttp</c>.</summary>
    internal void RequireNamePlaceholder(string value, string parameterName)
    {
        if (IsTemplate && !value.Contains(NamePlaceholder, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Template '{Name}': '{AddressRedaction.Redact(value)}' has no {NamePlaceholder}, so every model made from the template would load the same content; put {NamePlaceholder} where each model's name goes.", parameterName);
        }
    }

    private void ThrowIfTemplate(string method)
    {
        if (IsTemplate)
        {
            throw new InvalidOperationException($"Template '{Name}': {method} does not apply to a template, whose models are made by name on first use. Use FromFile or FromHttp with {NamePlaceholder}, FromSource((name, services) => ...) or FromFactory((name, cancellationToken) => ...), and Pin() to keep models in memory.");
        }
    }
}
