using Microsoft.ML;

namespace ModelCaching.ML;

/// <summary>
/// Loads ML.NET models (<see cref="ITransformer"/>) saved with <c>MLContext.Model.Save</c>, with or
/// without an input schema. Content that is not an ML.NET model, and models that need an ML.NET component
/// whose package the application does not reference, fail with a message that says so.
/// </summary>
public sealed class MLNetModelLoader : IModelLoader<ITransformer>
{
    /// <summary>The inflated size any model may reach, whatever its compression ratio: 64 MiB.</summary>
    public const long InflatedBytesAlwaysAllowed = 64L * 1024 * 1024;

    private readonly MLContext _context;
    private int _maxCompressionRatio = 100;

    /// <summary>Creates a loader that loads models with <paramref name="context"/>.</summary>
    public MLNetModelLoader(MLContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = context;
    }

    /// <summary>The context models are loaded with.</summary>
    public MLContext Context => _context;

    /// <summary>
    /// How many times its zipped size a model may inflate to (beyond <see cref="InflatedBytesAlwaysAllowed"/>) before
    /// it is refused as a zip bomb. ML.NET extracts every part it reads in full to a temporary file before parsing it,
    /// so a small zip that inflates hugely costs disk and CPU time, and goes on costing them after the load timeout
    /// abandoned it. Real models inflate 1–10×; all-zero padding inflates about 1,000×. The check reads only the
    /// zip's directory.
    /// <value>The default is 100.</value>
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int MaxCompressionRatio
    {
        get => _maxCompressionRatio;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _maxCompressionRatio = value;
        }
    }

    /// <inheritdoc />
    /// <exception cref="InvalidDataException">
    /// The content is not a loadable ML.NET model (an ONNX file, an HTML page, a truncated or damaged zip, a part ML.NET
    /// cannot read); the message says which in plain words and the inner exception is ML.NET's own.
    /// </exception>
    /// <exception cref="MissingModelComponentException">The model needs an ML.NET component that is not loaded.</exception>
    public ValueTask<ITransformer> LoadAsync(ModelArtifact artifact, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        cancellationToken.ThrowIfCancellationRequested();
        if (!artifact.HasContent)
        {
            throw new InvalidDataException($"{artifact.Location} delivered no bytes; an ML.NET model is a zip file.");
        }

        ReadOnlySpan<byte> content = artifact.Content.Span;
        if (!MLNetModelFormat.LooksLikeZip(content))
        {
            throw new InvalidDataException($"{artifact.Location} is not an ML.NET model: {MLNetModelFormat.DescribeNonZip(content)}.");
        }

        if (MLNetModelFormat.DeclaredInflatedBytes(artifact.Content) is { } inflated && inflated > Math.Max(InflatedBytesAlwaysAllowed, artifact.Length * _maxCompressionRatio))
        {
            throw new InvalidDataException(
                $"{artifact.Location} is not a loadable ML.NET model: its zip directory says its {artifact.Length:N0} bytes inflate to {inflated:N0} bytes, more than {_maxCompressionRatio}× " +
                $"(and more than {InflatedBytesAlwaysAllowed:N0} bytes), which real models never do: a zip bomb, or damaged size fields? Raise MLNetModelLoader.MaxCompressionRatio if this model really is that compressible.");
        }

        try
        {
            using Stream stream = artifact.OpenRead();
            ITransformer model = _context.Model.Load(stream, out _);
            return new ValueTask<ITransformer>(model);
        }
        catch (Exception ex) when (MLNetModelFormat.FindMissingComponent(artifact.Content, ex) is { } missing)
        {
            throw new MissingModelComponentException(artifact.Location, missing.LoaderSignature, missing.Package, missing.Entry, ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            // ML.NET reports a damaged file in its own words ("Error during class instantiation", "Exception has been
            // thrown by the target of an invocation.", "Could not load legacy format model"), by any exception type.
            throw new InvalidDataException($"{artifact.Location} is not a loadable ML.NET model: {MLNetModelFormat.DescribeLoadFailure(ex)}.", ex);
        }
    }
}
