using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;

namespace ModelCaching.Onnx.Loading;

/// <summary>An immutable snapshot of <see cref="OnnxRuntimeOptions"/>, validated, taken when a model's cache is built.</summary>
internal sealed class OnnxRuntimeSettings
{
    private static readonly Lock EnvironmentGate = new();

    private OnnxRuntimeSettings(string modelName, OnnxRuntimeOptions options)
    {
        ModelName = modelName;
        GraphOptimizationLevel = options.GraphOptimizationLevel;
        IntraOpThreads = options.IntraOpThreads;
        InterOpThreads = options.InterOpThreads;
        ExecutionMode = options.ExecutionMode;
        UseGlobalThreadPool = options.UseGlobalThreadPool;
        OptimizedModelFilePath = options.OptimizedModelFilePath is { } path ? Path.GetFullPath(path) : null;
        ConfigureSessionOptions = options.ConfigureSessionOptions;
        WarmUp = options.WarmUp;
        WarmUpInputs = options.WarmUpInputs;
        CheckSignature = options.CheckSignature;
        ExpectedSignature = options.ExpectedSignature;
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, long[]> shape in options.TensorShapes)
        {
            shapes[shape.Key] = (long[])shape.Value.Clone();
        }

        TensorShapes = shapes;
        Outputs = [.. options.Outputs];
    }

    public string ModelName { get; }

    public GraphOptimizationLevel GraphOptimizationLevel { get; }

    public int IntraOpThreads { get; }

    public int InterOpThreads { get; }

    public ExecutionMode ExecutionMode { get; }

    public bool UseGlobalThreadPool { get; }

    public string? OptimizedModelFilePath { get; }

    public Action<SessionOptions>? ConfigureSessionOptions { get; }

    public bool WarmUp { get; }

    public Action<OnnxRunner>? WarmUpInputs { get; }

    public bool CheckSignature { get; }

    public OnnxSignature? ExpectedSignature { get; }

    public IReadOnlyDictionary<string, long[]> TensorShapes { get; }

    public IReadOnlyList<string> Outputs { get; }

    /// <summary>Validates <paramref name="options"/> and snapshots them.</summary>
    /// <exception cref="OptionsValidationException">The options are invalid; each failure names the model and the field.</exception>
    public static OnnxRuntimeSettings Create(string modelName, OnnxRuntimeOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        ArgumentNullException.ThrowIfNull(options);
        List<string> problems = [.. options.Validate(modelName)];
        if (problems.Count > 0)
        {
            throw new OptionsValidationException(modelName, typeof(OnnxRuntimeOptions), problems);
        }

        return new OnnxRuntimeSettings(modelName, options);
    }

    /// <summary>Builds ONNX Runtime's session options; the caller disposes them once the session exists.</summary>
    public SessionOptions CreateSessionOptions()
    {
        if (UseGlobalThreadPool)
        {
            EnsureGlobalThreadPools();
        }

        var options = new SessionOptions();
        try
        {
            options.GraphOptimizationLevel = GraphOptimizationLevel;
            options.ExecutionMode = ExecutionMode;
            if (UseGlobalThreadPool)
            {
                options.DisablePerSessionThreads();
            }
            else
            {
                options.IntraOpNumThreads = IntraOpThreads;
                options.InterOpNumThreads = InterOpThreads;
            }

            if (OptimizedModelFilePath is { } path)
            {
                options.OptimizedModelFilePath = path;
            }

            ConfigureSessionOptions?.Invoke(options);
            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    // The environment is process-wide and created once: the first model that asks for global pools sizes them.
    private void EnsureGlobalThreadPools()
    {
        lock (EnvironmentGate)
        {
            if (OrtEnv.IsCreated)
            {
                return;
            }

            using var threading = new OrtThreadingOptions
            {
                GlobalIntraOpNumThreads = IntraOpThreads,
                GlobalInterOpNumThreads = InterOpThreads,
            };
            var environment = new EnvironmentCreationOptions { threadOptions = threading, logId = "ModelCaching" };
            try
            {
                OrtEnv.CreateInstanceWithOptions(ref environment);
            }
            catch (Exception) when (OrtEnv.IsCreated)
            {
                // A session built elsewhere at the same moment created the environment first (without global pools):
                // the load then fails with ONNX Runtime's message and the hint the loader adds.
            }
        }
    }
}
