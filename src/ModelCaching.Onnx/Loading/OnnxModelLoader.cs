using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using ModelCaching.Onnx.Diagnostics;
using ModelCaching.Onnx.Inference;

namespace ModelCaching.Onnx.Loading;

/// <summary>Builds one <see cref="InferenceSession"/> per generation from the source's bytes, with the model's session options.</summary>
internal sealed class OnnxModelLoader : IModelLoader<OnnxModel>
{
    private readonly OnnxRuntimeSettings _settings;
    private readonly ILogger _logger;

    public OnnxModelLoader(OnnxRuntimeSettings settings, ILogger logger)
    {
        _settings = settings;
        _logger = logger;
    }

    /// <inheritdoc />
    /// <exception cref="InvalidDataException">The content is not a loadable ONNX model; the message carries ONNX Runtime's.</exception>
    public ValueTask<OnnxModel> LoadAsync(ModelArtifact artifact, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        cancellationToken.ThrowIfCancellationRequested();
        if (!artifact.HasContent || artifact.Length == 0)
        {
            throw new InvalidDataException($"{artifact.Location} delivered no bytes; an ONNX model is a protobuf file (.onnx).");
        }

        long started = Stopwatch.GetTimestamp();
        InferenceSession session;
        using (SessionOptions options = _settings.CreateSessionOptions())
        {
            try
            {
                session = new InferenceSession(AsArray(artifact.Content), options);
            }
            catch (OnnxRuntimeException ex)
            {
                throw new InvalidDataException(Describe(artifact, ex), ex);
            }
        }

        try
        {
            OnnxSignature signature = OnnxSignature.FromSession(session);
            OnnxRunnerLayout layout = OnnxRunnerLayout.Create(signature, _settings);
            Log.SessionCreated(_logger, _settings.ModelName, artifact.Location, Stopwatch.GetElapsedTime(started).TotalMilliseconds, signature.Inputs.Count, signature.Outputs.Count);
            return new ValueTask<OnnxModel>(new OnnxModel(_settings.ModelName, session, signature, layout, artifact.Length));
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    // InferenceSession takes a byte[]: use the artifact's own array when the content spans all of it (a file source's).
    private static byte[] AsArray(ReadOnlyMemory<byte> content) =>
        MemoryMarshal.TryGetArray(content, out ArraySegment<byte> segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : content.ToArray();

    private string Describe(ModelArtifact artifact, OnnxRuntimeException ex)
    {
        ReadOnlySpan<byte> content = artifact.Content.Span;
        string hint = content.Length >= 4 && content[0] == (byte)'P' && content[1] == (byte)'K' && content[2] == 3 && content[3] == 4
            ? " (the content is a zip archive, as ML.NET models are; load those with ModelCaching.ML)"
            : _settings.UseGlobalThreadPool
                ? " (UseGlobalThreadPool is on: if the application created OrtEnv itself, it must have created it with global thread pools)"
                : string.Empty;
        return $"{artifact.Location} is not a loadable ONNX model{hint}: {ex.Message}";
    }
}
