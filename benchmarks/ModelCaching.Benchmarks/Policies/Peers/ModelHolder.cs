using System.ComponentModel;
using Microsoft.ML;

namespace ModelCaching.Benchmarks.Policies.Peers;

/// <summary>
/// A model in a sealed, immutable wrapper: HybridCache keeps such values as instances (anything else it serializes
/// and deserializes on every hit, which an <see cref="ITransformer"/> cannot do), and FusionCache uses the same holder.
/// </summary>
[ImmutableObject(true)]
internal sealed class ModelHolder(ITransformer model)
{
    public ITransformer Model { get; } = model;
}
