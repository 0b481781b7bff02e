using Microsoft.Extensions.Logging;
using ModelCaching.Onnx.Diagnostics;

namespace ModelCaching.Onnx.Signature;

/// <summary>
/// Checks each new session against the expected signature: the configured one, or else the first generation's.
/// The first generation's signature becomes the expectation only once that generation passed every check and
/// warm-up (<see cref="CommitAsync"/> runs last), so a rejected first file never sets it.
/// </summary>
internal sealed class OnnxSignatureCheck
{
    private readonly string _modelName;
    private readonly bool _configured;
    private readonly ILogger _logger;
    private OnnxSignature? _expected;

    public OnnxSignatureCheck(string modelName, OnnxSignature? expected, ILogger logger)
    {
        _modelName = modelName;
        _expected = expected;
        _configured = expected is not null;
        _logger = logger;
    }

    public OnnxSignature? Expected => Volatile.Read(ref _expected);

    /// <summary>Rejects <paramref name="model"/> when its inputs or outputs break the expected signature.</summary>
    public ValueTask ValidateAsync(OnnxModel model, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _expected) is { } expected
            && expected.FindMismatch(model.Signature) is { } mismatch)
        {
            throw new OnnxSignatureMismatchException(
                _modelName, mismatch.Kind, mismatch.Tensor, mismatch.Expected, mismatch.Actual,
                _configured ? "OnnxRuntimeOptions.ExpectedSignature" : "the first generation");
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Makes the first model that got this far the expectation for the ones after it.</summary>
    public ValueTask CommitAsync(OnnxModel model, CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _expected, model.Signature, null) is null)
        {
            Log.SignatureInferred(_logger, _modelName, model.Signature.ToString());
        }

        return ValueTask.CompletedTask;
    }
}
