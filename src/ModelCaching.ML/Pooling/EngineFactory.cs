using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.ML;
using ModelCaching.ML.Diagnostics;

namespace ModelCaching.ML;

/// <summary>
/// Creates and disposes the engines of every generation of one pool and counts them. Generations get it passed
/// in rather than calling back into their pool; it also holds the pool's settings as an immutable snapshot.
/// </summary>
internal sealed class EngineFactory<TData, TPrediction>
    where TData : class
    where TPrediction : class, new()
{
    private readonly MLContext _context;

    // The user's engine options with OwnsTransformer off: the model belongs to its generation, not to an engine.
    private readonly PredictionEngineOptions _engineOptions;
    private readonly ILogger _logger;

    // Which pooled engine (and so which generation) a raw engine is, for callers that rent and return raw engines.
    // Written once per engine when it is created, never per call.
    private readonly ConditionalWeakTable<PredictionEngine<TData, TPrediction>, PooledEngine<TData, TPrediction>> _owners = [];
    private long _created;
    private long _disposed;
    private long _faulted;
    private long _extra;
    private long _waits;

    public EngineFactory(string modelName, MLContext context, PredictionPoolOptions settings, ILogger logger, int poolIndex)
    {
        PoolIndex = poolIndex;
        ModelName = modelName;
        _context = context;
        _engineOptions = SharedModelEngineOptions.Create(settings.EngineOptions);
        _logger = logger;
        MaximumEngines = settings.MaximumEngines;
        Policy = settings.ExhaustionPolicy;
        WaitTimeout = settings.WaitTimeout;
    }

    public string ModelName { get; }

    /// <summary>The hits the pool's fast path counts in its threads' cells, over every generation (see <see cref="PoolHitCounts"/>).</summary>
    public PoolHitCounts HitCounts { get; } = new();

    /// <summary>Where the pool's cell sits in each thread's cells (see <see cref="EngineCell"/>).</summary>
    public int PoolIndex { get; }

    public int MaximumEngines { get; }

    public PoolExhaustionPolicy Policy { get; }

    public TimeSpan WaitTimeout { get; }

    public long Created => Interlocked.Read(ref _created);

    public long Disposed => Interlocked.Read(ref _disposed);

    public long Faulted => Interlocked.Read(ref _faulted);

    public long Extra => Interlocked.Read(ref _extra);

    public long Waits => Interlocked.Read(ref _waits);

    public PooledEngine<TData, TPrediction> Create(EngineGeneration<TData, TPrediction> generation, bool extra)
    {
        var engine = new PooledEngine<TData, TPrediction>(_context.Model.CreatePredictionEngine<TData, TPrediction>(generation.Model, _engineOptions), generation);
        _owners.AddOrUpdate(engine.Engine, engine);
        Interlocked.Increment(ref _created);
        if (extra)
        {
            Interlocked.Increment(ref _extra);
            Log.ExtraEngineCreated(_logger, ModelName, MaximumEngines);
        }

        return engine;
    }

    public bool TryGetPooled(PredictionEngine<TData, TPrediction> engine, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PooledEngine<TData, TPrediction>? pooled) =>
        _owners.TryGetValue(engine, out pooled);

    public void Dispose(PooledEngine<TData, TPrediction> engine)
    {
        _owners.Remove(engine.Engine);
        Interlocked.Increment(ref _disposed);
        try
        {
            engine.Engine.Dispose();
        }
        catch (Exception ex)
        {
            Log.EngineDisposeFailed(_logger, ex, ModelName);
        }
    }

    public void CountFaulted()
    {
        Interlocked.Increment(ref _faulted);
        Log.EngineFaulted(_logger, ModelName);
    }

    public void CountWait() => Interlocked.Increment(ref _waits);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public void ThrowExhausted() => throw new TimeoutException(
        $"No prediction engine of model '{ModelName}' came back within {WaitTimeout}: all {MaximumEngines} are in use. Raise PredictionPoolOptions.MaximumEngines or WaitTimeout, or use PoolExhaustionPolicy.CreateExtra.");
}
