using Microsoft.ML.OnnxRuntime;

namespace ModelCaching.Onnx;

/// <summary>
/// How ONNX Runtime sessions of one model are built, checked and warmed up. Read once, when the model's cache is
/// built: later changes do not affect it. Invalid settings fail at start with a message naming the model and the field.
/// </summary>
public sealed class OnnxRuntimeOptions
{
    private int _intraOpThreads;
    private int _interOpThreads;

    /// <summary>
    /// How much ONNX Runtime rewrites the graph when it builds a session: more optimization costs load time and
    /// saves inference time.
    /// <value>The default is <see cref="GraphOptimizationLevel.ORT_ENABLE_ALL"/>.</value>
    /// </summary>
    public GraphOptimizationLevel GraphOptimizationLevel { get; set; } = GraphOptimizationLevel.ORT_ENABLE_ALL;

    /// <summary>
    /// The threads one operator may use (the session's intra-op pool), or 0 for ONNX Runtime's default (one per
    /// physical core). With <see cref="UseGlobalThreadPool"/>, sizes the shared pool when this model is the first to create it.
    /// <value>The default is 0.</value>
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int IntraOpThreads
    {
        get => _intraOpThreads;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _intraOpThreads = value;
        }
    }

    /// <summary>
    /// The threads that run independent operators side by side when <see cref="ExecutionMode"/> is
    /// <see cref="ExecutionMode.ORT_PARALLEL"/>, or 0 for ONNX Runtime's default. With <see cref="UseGlobalThreadPool"/>,
    /// sizes the shared pool when this model is the first to create it.
    /// <value>The default is 0.</value>
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int InterOpThreads
    {
        get => _interOpThreads;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _interOpThreads = value;
        }
    }

    /// <summary>
    /// Whether operators run one after the other or, where the graph allows, in parallel.
    /// <value>The default is <see cref="ExecutionMode.ORT_SEQUENTIAL"/>.</value>
    /// </summary>
    public ExecutionMode ExecutionMode { get; set; } = ExecutionMode.ORT_SEQUENTIAL;

    /// <summary>
    /// Whether the model's sessions run on the process-wide ONNX Runtime thread pools instead of creating pools of
    /// their own, for hosts with many models (each session otherwise starts its own threads). The environment is
    /// created with global pools on first use; an application that creates <see cref="OrtEnv"/> itself must
    /// create it with <see cref="OrtThreadingOptions"/>.
    /// <value>The default is <see langword="false"/>.</value>
    /// </summary>
    public bool UseGlobalThreadPool { get; set; }

    /// <summary>
    /// A file ONNX Runtime writes the optimized graph to when it builds a session, to inspect it or to serve it later
    /// with <see cref="GraphOptimizationLevel"/> off and a shorter load. Each load overwrites it; its directory must exist.
    /// <value>The default is <see langword="null"/>: nothing is written.</value>
    /// </summary>
    public string? OptimizedModelFilePath { get; set; }

    /// <summary>
    /// Changes ONNX Runtime's session options after the settings above are applied (execution providers, say).
    /// Runs on every load.
    /// <value>The default is <see langword="null"/>.</value>
    /// </summary>
    public Action<SessionOptions>? ConfigureSessionOptions { get; set; }

    /// <summary>
    /// Whether each new session runs once before it serves and before readiness, so the first request does not pay
    /// for ONNX Runtime's lazy initialisation. The run uses <see cref="WarmUpInputs"/>, or zeros and empty strings.
    /// A session whose warm-up fails is rejected; the last good one keeps serving.
    /// <value>The default is <see langword="true"/>.</value>
    /// </summary>
    public bool WarmUp { get; set; } = true;

    /// <summary>
    /// Fills the warm-up run's inputs (a representative request); the inputs start as zeros and empty strings. The
    /// runner works only during this call: kept and used later, its members throw <see cref="ObjectDisposedException"/>.
    /// <value>The default is <see langword="null"/>: zeros and empty strings.</value>
    /// </summary>
    public Action<OnnxRunner>? WarmUpInputs { get; set; }

    /// <summary>
    /// Whether each new session's inputs and outputs (names, element types, shapes) are checked before it serves.
    /// A mismatch is rejected with an <see cref="OnnxSignatureMismatchException"/>; the last good session keeps serving.
    /// <value>The default is <see langword="true"/>.</value>
    /// </summary>
    public bool CheckSignature { get; set; } = true;

    /// <summary>
    /// The inputs and outputs every session must have. Every input must be there with the same element type and
    /// shape, and no other input; every output listed must be there, with the same element type and shape (a new
    /// model may add outputs).
    /// <value>The default is <see langword="null"/>: the first generation that loads sets the expectation.</value>
    /// </summary>
    public OnnxSignature? ExpectedSignature { get; set; }

    /// <summary>
    /// The shapes the typed API (<see cref="OnnxRunner"/>) allocates for tensors with dynamic dimensions, by tensor
    /// name (inputs and outputs). Dimensions must be positive.
    /// <value>The default is empty: each dynamic dimension is 1 (one example per run).</value>
    /// </summary>
    public IDictionary<string, long[]> TensorShapes { get; } = new Dictionary<string, long[]>(StringComparer.Ordinal);

    /// <summary>
    /// The outputs the typed API computes and exposes; ONNX Runtime skips the work of outputs nobody reads.
    /// <value>The default is empty: every numeric tensor output.</value>
    /// </summary>
    public IList<string> Outputs { get; } = [];

    /// <summary>Returns the problems with these settings, each naming the model and the field.</summary>
    internal IEnumerable<string> Validate(string modelName)
    {
        if (!Enum.IsDefined(GraphOptimizationLevel))
        {
            yield return Problem(modelName, nameof(GraphOptimizationLevel), $"is not a known level (was {(int)GraphOptimizationLevel})");
        }

        if (!Enum.IsDefined(ExecutionMode))
        {
            yield return Problem(modelName, nameof(ExecutionMode), $"is not a known mode (was {(int)ExecutionMode})");
        }

        if (OptimizedModelFilePath is { } optimized)
        {
            string? directory = string.IsNullOrWhiteSpace(optimized) ? null : Path.GetDirectoryName(Path.GetFullPath(optimized));
            if (directory is null)
            {
                yield return Problem(modelName, nameof(OptimizedModelFilePath), "is empty; leave it null to write no optimized model");
            }
            else if (!Directory.Exists(directory))
            {
                yield return Problem(modelName, nameof(OptimizedModelFilePath), $"is in a directory that does not exist ({directory})");
            }
        }

        foreach (KeyValuePair<string, long[]> shape in TensorShapes)
        {
            if (shape.Value is null || shape.Value.Length == 0 || Array.Exists(shape.Value, static d => d <= 0))
            {
                yield return Problem(modelName, nameof(TensorShapes), $"gives tensor '{shape.Key}' the shape [{string.Join(',', shape.Value ?? [])}]; every dimension must be positive");
            }
        }

        foreach (string output in Outputs)
        {
            if (string.IsNullOrWhiteSpace(output))
            {
                yield return Problem(modelName, nameof(Outputs), "contains an empty name");
            }
        }

        if (WarmUpInputs is not null && !WarmUp)
        {
            yield return Problem(modelName, nameof(WarmUpInputs), "is set but WarmUp is off; turn WarmUp on or drop the inputs");
        }
    }

    private static string Problem(string modelName, string field, string problem) => $"Model '{modelName}': OnnxRuntimeOptions.{field} {problem}.";
}
