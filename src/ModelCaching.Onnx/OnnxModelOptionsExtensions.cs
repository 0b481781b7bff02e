using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelCaching.Onnx.Loading;
using ModelCaching.Onnx.Signature;

namespace ModelCaching.Onnx;

/// <summary>ONNX Runtime for a model cache built without dependency injection (<c>new ModelCache&lt;OnnxModel&gt;(...)</c>).</summary>
public static class OnnxModelOptionsExtensions
{
    /// <summary>
    /// Loads the model with ONNX Runtime, one shared session per generation; checks each new session's signature,
    /// warms it up and reports its size, as <paramref name="onnx"/> says. Same as <c>UseOnnxRuntime()</c> on a model builder.
    /// </summary>
    /// <param name="options">The model's options.</param>
    /// <param name="modelName">The model's name, for messages and logs.</param>
    /// <param name="onnx">The ONNX Runtime settings; snapshotted now. <see langword="null"/> for the defaults.</param>
    /// <param name="loggerFactory">Where logs go.</param>
    /// <exception cref="OptionsValidationException"><paramref name="onnx"/> is invalid; each failure names the model and the field.</exception>
    public static ModelOptions<OnnxModel> UseOnnxRuntime(this ModelOptions<OnnxModel> options, string modelName, OnnxRuntimeOptions? onnx = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        OnnxRuntimeSettings settings = OnnxRuntimeSettings.Create(modelName, onnx ?? new OnnxRuntimeOptions());
        ILogger logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("ModelCaching.Onnx");

        options.Loader = new OnnxModelLoader(settings, logger);
        options.SizeEstimator = static (model, _) => model.EstimatedSizeBytes;

        // Order matters: the signature check first (cheap, before any run), the warm-up next, and the inferred
        // signature is committed last, once the generation passed everything else.
        OnnxSignatureCheck? check = settings.CheckSignature ? new OnnxSignatureCheck(modelName, settings.ExpectedSignature, logger) : null;
        if (check is not null)
        {
            options.Validators.Add(check.ValidateAsync);
        }

        if (settings.WarmUp)
        {
            options.WarmUps.Add(new OnnxWarmUp(modelName, settings.WarmUpInputs, logger).RunAsync);
        }

        if (check is not null && settings.ExpectedSignature is null)
        {
            options.WarmUps.Add(check.CommitAsync);
        }

        return options;
    }
}
