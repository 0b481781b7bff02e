using Microsoft.ML;
using Microsoft.ML.Data;

namespace ModelCaching.ML.Tests.Support;

/// <summary>
/// A real iris model wrapped in a transformer that counts its disposals, standing in for a model with disposable
/// parts (an ONNX session, a TensorFlow graph). An engine that owns its transformer disposes it.
/// </summary>
public sealed class DisposalCountingTransformer(ITransformer inner) : ITransformer, IDisposable
{
    private int _disposals;

    public int Disposals => Volatile.Read(ref _disposals);

    public bool IsRowToRowMapper => inner.IsRowToRowMapper;

    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inner.GetOutputSchema(inputSchema);

    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => inner.GetRowToRowMapper(inputSchema);

    public IDataView Transform(IDataView input) => inner.Transform(input);

    public void Save(ModelSaveContext ctx) => throw new NotSupportedException("A test wrapper is not saved.");

    public void Dispose() => Interlocked.Increment(ref _disposals);
}

/// <summary>
/// A cache whose every load wraps a fresh copy of iris.zip in a <see cref="DisposalCountingTransformer"/>. The
/// model file only marks versions (its bytes change per version), so reloads really swap.
/// </summary>
public sealed class CountingModels : IDisposable
{
    private readonly List<DisposalCountingTransformer> _loaded = [];
    private int _version;

    public CountingModels(ModelRollbackRetention retention = ModelRollbackRetention.Generation)
    {
        Folder = Path.Combine(Path.GetTempPath(), "modelcaching-counting-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
        FilePath = Path.Combine(Folder, "model.version");
        NextVersion();
        var options = new ModelOptions<ITransformer>
        {
            Source = new FileModelSource(FilePath),
            Loader = new DelegateModelLoader<ITransformer>(Load),
            DrainDelay = TimeSpan.Zero,
            RetryBaseDelay = TimeSpan.Zero,
            RollbackRetention = retention,
        };
        options.Validators.Add(PredictionSchema.CreateValidator<IrisData, IrisPrediction>(PoolFactory.Context, "counting"));
        Cache = new ModelCache<ITransformer>("counting", options);
    }

    public string Folder { get; }

    public string FilePath { get; }

    public ModelCache<ITransformer> Cache { get; }

    /// <summary>The transformer of the <paramref name="index"/>th load (0 is the first).</summary>
    public DisposalCountingTransformer Loaded(int index)
    {
        lock (_loaded)
        {
            return _loaded[index];
        }
    }

    public int LoadCount
    {
        get
        {
            lock (_loaded)
            {
                return _loaded.Count;
            }
        }
    }

    /// <summary>Writes new bytes to the model file (beside it, then renamed over it), so the next reload loads a new version.</summary>
    public void NextVersion()
    {
        string staging = FilePath + ".tmp";
        File.WriteAllText(staging, $"version {++_version}");
        File.Move(staging, FilePath, overwrite: true);
    }

    public void Dispose()
    {
        Cache.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private ValueTask<ITransformer> Load(ModelArtifact artifact, CancellationToken cancellationToken)
    {
        var model = new DisposalCountingTransformer(PoolFactory.Context.Model.Load(TestModels.IrisPath, out _));
        lock (_loaded)
        {
            _loaded.Add(model);
        }

        return ValueTask.FromResult<ITransformer>(model);
    }
}
