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
    private long _usesAfterDisposal;

    public int Disposals => Volatile.Read(ref _disposals);

    /// <summary>
    /// Values read from the model's output after it was disposed: every prediction of an engine built on this model reads
    /// them, so a prediction on a disposed model (which would be a native crash for an ONNX session) counts here.
    /// </summary>
    public long UsesAfterDisposal => Interlocked.Read(ref _usesAfterDisposal);

    public bool IsRowToRowMapper => inner.IsRowToRowMapper;

    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inner.GetOutputSchema(inputSchema);

    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => new CheckingMapper(this, inner.GetRowToRowMapper(inputSchema));

    public IDataView Transform(IDataView input) => inner.Transform(input);

    public void Save(ModelSaveContext ctx) => throw new NotSupportedException("A test wrapper is not saved.");

    public void Dispose() => Interlocked.Increment(ref _disposals);

    private void CheckNotDisposed()
    {
        if (Volatile.Read(ref _disposals) != 0)
        {
            Interlocked.Increment(ref _usesAfterDisposal);
        }
    }

    // The model's mapper, whose output rows check, at every value read, that the model was not disposed.
    private sealed class CheckingMapper(DisposalCountingTransformer model, IRowToRowMapper mapper) : IRowToRowMapper
    {
        public DataViewSchema InputSchema => mapper.InputSchema;

        public DataViewSchema OutputSchema => mapper.OutputSchema;

        public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns) => mapper.GetDependencies(dependingColumns);

        public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns) => new CheckingRow(model, mapper.GetRow(input, activeColumns));
    }

    private sealed class CheckingRow(DisposalCountingTransformer model, DataViewRow row) : DataViewRow
    {
        public override long Position => row.Position;

        public override long Batch => row.Batch;

        public override DataViewSchema Schema => row.Schema;

        public override ValueGetter<DataViewRowId> GetIdGetter() => row.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => row.IsColumnActive(column);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            ValueGetter<TValue> getter = row.GetGetter<TValue>(column);
            return (ref TValue value) =>
            {
                model.CheckNotDisposed();
                getter(ref value);
            };
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                row.Dispose();
            }

            base.Dispose(disposing);
        }
    }
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
