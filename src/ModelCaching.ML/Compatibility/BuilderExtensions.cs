using Microsoft.Extensions.DependencyInjection;

namespace ModelCaching.ML.Compatibility;

/// <summary>
/// <c>FromFile</c> and <c>FromUri</c> for <see cref="PredictionEnginePoolBuilder{TData, TPrediction}"/>, with the
/// names and defaults of Microsoft.Extensions.ML. Each model is served by a ModelCaching model cache: loaded on
/// first use, swapped whole on change after a schema check, and kept on the last good version when a new one is bad.
/// </summary>
public static class BuilderExtensions
{
    private static readonly TimeSpan s_defaultPeriod = TimeSpan.FromMinutes(5);

    /// <summary>Adds the default model from <paramref name="uri"/>, polled every 5 minutes.</summary>
    public static PredictionEnginePoolBuilder<TData, TPrediction> FromUri<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, string uri)
        where TData : class
        where TPrediction : class, new() => builder.FromUri(string.Empty, new Uri(uri));

    /// <summary>Adds the model <paramref name="modelName"/> from <paramref name="uri"/>, polled every 5 minutes.</summary>
    public static PredictionEnginePoolBuilder<TData, TPrediction> FromUri<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, string modelName, string uri)
        where TData : class
        where TPrediction : class, new() => builder.FromUri(modelName, new Uri(uri));

    /// <summary>Adds the model <paramref name="modelName"/> from <paramref name="uri"/>, polled every 5 minutes.</summary>
    public static PredictionEnginePoolBuilder<TData, TPrediction> FromUri<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, string modelName, Uri uri)
        where TData : class
        where TPrediction : class, new() => builder.FromUri(modelName, uri, s_defaultPeriod);

    /// <summary>Adds the default model from <paramref name="uri"/>, polled every <paramref name="period"/> (a conditional GET).</summary>
    public static PredictionEnginePoolBuilder<TData, TPrediction> FromUri<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, string uri, TimeSpan period)
        where TData : class
        where TPrediction : class, new() => builder.FromUri(string.Empty, new Uri(uri), period);

    /// <summary>Adds the model <paramref name="modelName"/> from <paramref name="uri"/>, polled every <paramref name="period"/>.</summary>
    public static PredictionEnginePoolBuilder<TData, TPrediction> FromUri<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, string modelName, string uri, TimeSpan period)
        where TData : class
        where TPrediction : class, new() => builder.FromUri(modelName, new Uri(uri), period);

    /// <summary>Adds the model <paramref name="modelName"/> from <paramref name="uri"/>, polled every <paramref name="period"/>.</summary>
    public static PredictionEnginePoolBuilder<TData, TPrediction> FromUri<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, string modelName, Uri uri, TimeSpan period)
        where TData : class
        where TPrediction : class, new()
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(modelName);
        ArgumentNullException.ThrowIfNull(uri);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(period, TimeSpan.Zero);
        return Register(builder, modelName, services => CachedModelLoader.ForUri(services, modelName, uri, period));
    }

    /// <summary>Adds the default model from the file at <paramref name="filePath"/>, reloaded when it changes.</summary>
    public static PredictionEnginePoolBuilder<TData, TPrediction> FromFile<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, string filePath)
        where TData : class
        where TPrediction : class, new() => builder.FromFile(string.Empty, filePath, watchForChanges: true);

    /// <summary>Adds the default model from the file at <paramref name="filePath"/>; reloaded when it changes if <paramref name="watchForChanges"/>.</summary>
    public static PredictionEnginePoolBuilder<TData, TPrediction> FromFile<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, string filePath, bool watchForChanges)
        where TData : class
        where TPrediction : class, new() => builder.FromFile(string.Empty, filePath, watchForChanges);

    /// <summary>Adds the model <paramref name="modelName"/> from the file at <paramref name="filePath"/>, reloaded when it changes.</summary>
    public static PredictionEnginePoolBuilder<TData, TPrediction> FromFile<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, string modelName, string filePath)
        where TData : class
        where TPrediction : class, new() => builder.FromFile(modelName, filePath, watchForChanges: true);

    /// <summary>
    /// Adds the model <paramref name="modelName"/> from the file at <paramref name="filePath"/>. When
    /// <paramref name="watchForChanges"/>, the directory is watched (renames, symlink swaps, debounced, after the
    /// file is stable) and the model reloaded.
    /// </summary>
    public static PredictionEnginePoolBuilder<TData, TPrediction> FromFile<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, string modelName, string filePath, bool watchForChanges)
        where TData : class
        where TPrediction : class, new()
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(modelName);
        ArgumentException.ThrowIfNullOrWhiteSpace(filePath);
        return Register(builder, modelName, services => CachedModelLoader.ForFile(services, modelName, filePath, watchForChanges));
    }

    private static PredictionEnginePoolBuilder<TData, TPrediction> Register<TData, TPrediction>(PredictionEnginePoolBuilder<TData, TPrediction> builder, string modelName, Func<IServiceProvider, ModelLoader> createLoader)
        where TData : class
        where TPrediction : class, new()
    {
        builder.Services.AddSingleton(new PoolModelRegistration(typeof(TData), typeof(TPrediction), modelName));
        builder.Services.AddOptions<PredictionEnginePoolOptions<TData, TPrediction>>(modelName)
            .Configure<IServiceProvider>((options, services) => options.ModelLoader = createLoader(services));
        return builder;
    }
}
