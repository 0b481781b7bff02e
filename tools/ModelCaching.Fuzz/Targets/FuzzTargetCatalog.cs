namespace ModelCaching.Fuzz.Targets;

/// <summary>
/// The loaders the tool fuzzes, by name (<c>--target NAME</c>; <c>all</c> runs each in turn).
/// </summary>
/// <remarks>
/// <para><b>Adding a loader (the ONNX extension point).</b> The ONNX Runtime loader (a ModelCaching.Onnx package that
/// does not exist yet) plugs in here: write an <c>OnnxFuzzTarget : CacheFuzzTarget&lt;InferenceSession&gt;</c> whose
/// <c>CreateLoader</c> returns that package's loader, whose <c>IsExplained</c> accepts the loader's documented
/// exception types, and whose seeds are .onnx files (copy tests/ModelCaching.ML.Tests/TestModels/breast-cancer-multiclass.onnx into Seeds/); reference the package
/// from ModelCaching.Fuzz.csproj, and add a line to <see cref="Names"/> and <see cref="Create"/>. The mutator needs
/// nothing: inputs that are not zips get the byte-level mutations.</para>
/// </remarks>
public static class FuzzTargetCatalog
{
    /// <summary>The names <see cref="Create"/> knows.</summary>
    public static IReadOnlyList<string> Names { get; } = ["mlnet", "delegate"];

    /// <summary>Creates the target <paramref name="name"/> with the seeds in <paramref name="seedDirectory"/>.</summary>
    public static IFuzzTarget Create(string name, string seedDirectory, FuzzSettings settings)
    {
        byte[][] zips = [File.ReadAllBytes(Path.Combine(seedDirectory, "iris.zip")), File.ReadAllBytes(Path.Combine(seedDirectory, "taxi-fare.zip"))];
        return name switch
        {
            "mlnet" => new MLNetFuzzTarget(zips, settings.LoadTimeout),
            "delegate" => new DelegateFuzzTarget(zips, settings.LoadTimeout, settings.DelegateMaxInflatedBytes),
            _ => throw new ArgumentException($"Unknown target '{name}'. Targets: {string.Join(", ", Names)}, all.", nameof(name)),
        };
    }
}
