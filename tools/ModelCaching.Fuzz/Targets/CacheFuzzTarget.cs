using System.Text;
using System.Text.RegularExpressions;

namespace ModelCaching.Fuzz.Targets;

/// <summary>
/// Feeds inputs to a real <see cref="ModelCache{TModel}"/> through <see cref="ModelCache{TModel}.ReloadAsync(CancellationToken)"/> and
/// checks the cache's promises after each: a bad input fails with a <see cref="ModelLoadException"/> that names this
/// model, and the last good model keeps serving.
/// </summary>
public abstract partial class CacheFuzzTarget<TModel> : IFuzzTarget
    where TModel : class
{
    private readonly SwappableSource _source;
    private readonly TimeSpan _loadTimeout;
    private ModelCache<TModel>? _cache;

    protected CacheFuzzTarget(string name, IReadOnlyList<byte[]> seeds, TimeSpan loadTimeout)
    {
        Name = name;
        Seeds = seeds;
        _loadTimeout = loadTimeout;
        _source = new SwappableSource($"fuzz-input-for-{name}.zip");
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public IReadOnlyList<byte[]> Seeds { get; }

    /// <summary>The cache under test, once started.</summary>
    public ModelCache<TModel> Cache => _cache ?? throw new InvalidOperationException("Call StartAsync first.");

    /// <summary>The loader under test.</summary>
    protected abstract IModelLoader<TModel> CreateLoader();

    /// <summary>Whether <paramref name="cause"/> is one the loader wrote itself, in words a user can act on.</summary>
    protected abstract bool IsExplained(Exception cause);

    /// <inheritdoc />
    public async Task StartAsync()
    {
        var options = new ModelOptions<TModel>
        {
            Source = _source,
            Loader = CreateLoader(),
            LoadTimeout = _loadTimeout,
            RetryBaseDelay = TimeSpan.Zero,
            DrainDelay = TimeSpan.Zero,
            RollbackRetention = ModelRollbackRetention.None,
            TrackHits = false,
        };
        _cache = new ModelCache<TModel>(Name, options);
        _source.Content = Seeds[0];
        await _cache.ReloadAsync();
    }

    /// <inheritdoc />
    public async Task<FuzzResult> RunAsync(byte[] input)
    {
        ModelCache<TModel> cache = Cache;
        ModelVersion? before = cache.Version;
        TModel? serving = before is null ? null : cache.GetModel();
        _source.Content = input;
        try
        {
            await cache.ReloadAsync();
            return new FuzzResult(FuzzOutcome.Loaded, "loaded", "loaded");
        }
        catch (ModelLoadException ex)
        {
            if (ex.ModelName != Name)
            {
                return Bug("names another model", ex);
            }

            if (cache.Version?.Id != before?.Id || (serving is not null && !ReferenceEquals(cache.GetModel(), serving)))
            {
                return Bug("last good model not serving", ex);
            }

            Exception? cause = ex.InnerException;
            for (Exception? e = ex; e is not null; e = e.InnerException)
            {
                if (e is OutOfMemoryException or InsufficientExecutionStackException)
                {
                    return new FuzzResult(FuzzOutcome.OutOfMemory, Signature("oom", ex), ex.ToString());
                }
            }

            if (cause is TimeoutException)
            {
                return new FuzzResult(FuzzOutcome.Hang, Signature("hang", ex), ex.ToString());
            }

            return cause is not null && IsExplained(cause)
                ? new FuzzResult(FuzzOutcome.Rejected, Signature("rejected", ex), ex.Message)
                : new FuzzResult(FuzzOutcome.UnclearCause, Signature("unclear", ex), ex.ToString());
        }
        catch (Exception ex)
        {
            return Bug("not a ModelLoadException", ex);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_cache is not null)
        {
            await _cache.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    private static FuzzResult Bug(string what, Exception ex) => new(FuzzOutcome.Bug, Signature("bug:" + what, ex), ex.ToString());

    /// <summary>
    /// Groups failures: the exception types from the outside in, and the innermost message with its numbers and
    /// quoted names blanked, so that one cause in many places is one signature.
    /// </summary>
    internal static string Signature(string kind, Exception error)
    {
        var text = new StringBuilder(kind);
        Exception innermost = error;
        for (Exception? e = error.InnerException; e is not null; e = e.InnerException)
        {
            text.Append(' ').Append(e.GetType().Name);
            innermost = e;
        }

        string message = Numbers().Replace(Quoted().Replace(innermost.Message, "'…'"), "#");
        text.Append(": ").Append(message.Length > 100 ? message[..100] : message);
        return text.ToString();
    }

    [GeneratedRegex("'[^']*'")]
    private static partial Regex Quoted();

    [GeneratedRegex("[0-9]+")]
    private static partial Regex Numbers();
}
