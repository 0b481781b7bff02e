using Microsoft.Extensions.Logging;
using ModelCaching;
using ModelCaching.Onnx;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>ONNX Runtime support for models registered with <c>AddModelCache().AddModel&lt;OnnxModel&gt;(...)</c>.</summary>
public static class OnnxModelBuilderExtensions
{
    /// <summary>
    /// Loads the model with ONNX Runtime: one <c>InferenceSession</c> per generation, shared by every caller and
    /// disposed after its last lease. Each new session is checked against the expected inputs and outputs and warmed
    /// up before it serves; its size is reported for the memory budget. Invalid options fail at start, naming the model and the field.
    /// </summary>
    /// <param name="builder">The model.</param>
    /// <param name="configure">Changes session options, warm-up, signature check and the typed API's shapes.</param>
    public static ModelBuilder<OnnxModel> UseOnnxRuntime(this ModelBuilder<OnnxModel> builder, Action<OnnxRuntimeOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var onnx = new OnnxRuntimeOptions();
        configure?.Invoke(onnx);
        string name = builder.Name;
        return builder.Configure((options, services) => options.UseOnnxRuntime(name, onnx, services.GetService<ILoggerFactory>()));
    }
}
