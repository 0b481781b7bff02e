namespace ModelCaching.Onnx;

/// <summary>
/// A new ONNX model's inputs or outputs do not match the expected ones (from <see cref="OnnxRuntimeOptions.ExpectedSignature"/>
/// or the first generation). The cache rejects the model and keeps serving the last good one.
/// </summary>
public sealed class OnnxSignatureMismatchException : Exception
{
    /// <summary>Creates an exception for the tensor <paramref name="tensorName"/> of the model <paramref name="modelName"/>.</summary>
    /// <param name="modelName">The model's name.</param>
    /// <param name="kind">"input" or "output".</param>
    /// <param name="tensorName">The tensor that does not match.</param>
    /// <param name="expected">The expected type (<c>Float[1,8]</c>), or "absent".</param>
    /// <param name="actual">The new model's type, or "missing".</param>
    /// <param name="expectedFrom">Where the expectation came from, for the message.</param>
    public OnnxSignatureMismatchException(string modelName, string kind, string tensorName, string expected, string actual, string expectedFrom)
        : base(Describe(modelName, kind, tensorName, expected, actual, expectedFrom))
    {
        ModelName = modelName;
        TensorName = tensorName;
        Expected = expected;
        Actual = actual;
    }

    /// <summary>The model's name.</summary>
    public string ModelName { get; }

    /// <summary>The input or output that does not match.</summary>
    public string TensorName { get; }

    /// <summary>The expected type, or "absent" for an input the new model added.</summary>
    public string Expected { get; }

    /// <summary>The new model's type, or "missing".</summary>
    public string Actual { get; }

    private static string Describe(string modelName, string kind, string tensorName, string expected, string actual, string expectedFrom) => (expected, actual) switch
    {
        (_, "missing") => $"Model '{modelName}': the new model has no {kind} '{tensorName}'; {expectedFrom} has it as {expected}.",
        ("absent", _) => $"Model '{modelName}': the new model has an {kind} '{tensorName}' ({actual}) that {expectedFrom} does not have; callers do not feed it.",
        _ => $"Model '{modelName}': {kind} '{tensorName}' is {actual} in the new model but {expected} in {expectedFrom}.",
    };
}
