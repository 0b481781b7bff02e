namespace ModelCaching.ML;

/// <summary>
/// Thrown when a model needs an ML.NET component (a FastTree or LightGBM trainer's predictor, an ONNX or
/// TensorFlow transformer, …) whose assembly is not loaded because the application does not reference
/// its package.
/// </summary>
public sealed class MissingModelComponentException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public MissingModelComponentException(string location, string loaderSignature, string? package, string entry, Exception? innerException = null)
        : base(BuildMessage(location, loaderSignature, package, entry), innerException)
    {
        LoaderSignature = loaderSignature;
        Package = package;
    }

    /// <summary>The ML.NET loader signature of the missing component, such as <c>FastTreeRegressionExec</c>.</summary>
    public string LoaderSignature { get; }

    /// <summary>The NuGet package that provides the component, when it is known (such as <c>Microsoft.ML.FastTree</c>).</summary>
    public string? Package { get; }

    private static string BuildMessage(string location, string loaderSignature, string? package, string entry) => package is null
        ? $"The model {location} needs the ML.NET component '{loaderSignature}' (in '{entry}'), which is not loaded: reference the package that provides it."
        : $"The model {location} needs the ML.NET component '{loaderSignature}' (in '{entry}'), which is not loaded: add a reference to the package {package}.";
}
