using System.Collections.Concurrent;

namespace ModelCaching.Onnx.Tests.Support;

/// <summary>Wraps the ONNX loader and keeps every model it made, to check later that each was disposed exactly once.</summary>
public sealed class RecordingLoader : IModelLoader<OnnxModel>
{
    public IModelLoader<OnnxModel> Inner { get; set; } = null!;

    public ConcurrentQueue<OnnxModel> Loaded { get; } = new();

    public async ValueTask<OnnxModel> LoadAsync(ModelArtifact artifact, CancellationToken cancellationToken)
    {
        OnnxModel model = await Inner.LoadAsync(artifact, cancellationToken);
        Loaded.Enqueue(model);
        return model;
    }
}
