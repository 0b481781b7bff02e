using Microsoft.ML;
using ModelCaching.ML;

namespace ModelCaching.Fuzz.Targets;

/// <summary>ML.NET models through <see cref="MLNetModelLoader"/>, seeded with iris.zip and taxi-fare.zip.</summary>
public sealed class MLNetFuzzTarget(IReadOnlyList<byte[]> seeds, TimeSpan loadTimeout)
    : CacheFuzzTarget<ITransformer>("mlnet", seeds, loadTimeout)
{
    private readonly MLContext _context = new(seed: 1);

    protected override IModelLoader<ITransformer> CreateLoader() => new MLNetModelLoader(_context);

    // The loader's documented exceptions: everything else is ML.NET's raw message reaching the user.
    protected override bool IsExplained(Exception cause) => cause is InvalidDataException or MissingModelComponentException;
}
