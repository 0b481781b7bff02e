// A custom ModelLoader of the kind users write for Microsoft.Extensions.ML (models from a database, blob storage
// or memory). Migrated by changing only the `using` line below.
using System.IO;
using System.Threading;
using Microsoft.Extensions.Primitives;
using Microsoft.ML;
using ModelCaching.ML.Compatibility; // was: using Microsoft.Extensions.ML;

namespace ModelCaching.ML.CompatibilityTests.Samples;

public class InMemoryModelLoader : ModelLoader
{
    private readonly MLContext _context;
    private ModelReloadToken _reloadToken;
    private ITransformer _model;

    public InMemoryModelLoader(MLContext context, byte[] modelBytes)
    {
        _context = context;
        _reloadToken = new ModelReloadToken();
        _model = Load(modelBytes);
    }

    public int GetModelCalls;

    /// <summary>Replaces the model (say, after a new version was written to the database) and signals the change.</summary>
    public void Update(byte[] modelBytes)
    {
        _model = Load(modelBytes);
        ModelReloadToken previousToken = Interlocked.Exchange(ref _reloadToken, new ModelReloadToken());
        previousToken.OnReload();
    }

    public override ITransformer GetModel()
    {
        Interlocked.Increment(ref GetModelCalls);
        return _model;
    }

    public override IChangeToken GetReloadToken() => _reloadToken;

    private ITransformer Load(byte[] modelBytes)
    {
        using var stream = new MemoryStream(modelBytes);
        return _context.Model.Load(stream, out _);
    }
}
