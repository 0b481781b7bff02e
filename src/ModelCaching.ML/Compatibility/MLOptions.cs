using Microsoft.ML;

namespace ModelCaching.ML.Compatibility;

/// <summary>
/// The ML.NET context of the <see cref="PredictionEnginePool{TData, TPrediction}"/>s (as in
/// Microsoft.Extensions.ML). Configure it with <c>services.Configure&lt;MLOptions&gt;(o =&gt; o.MLContext = new MLContext(seed: 1))</c>.
/// </summary>
public class MLOptions
{
    private MLContext? _context;

    /// <summary>Initializes a new instance of <see cref="MLOptions"/>.</summary>
    public MLOptions()
    {
    }

    /// <summary>
    /// The <see cref="MLContext"/> that loads the models and creates the prediction engines.
    /// <value>The default is a new <see cref="Microsoft.ML.MLContext"/> created on first use.</value>
    /// </summary>
    public MLContext MLContext
    {
        get => Volatile.Read(ref _context) ?? CreateContext();
        set => Volatile.Write(ref _context, value ?? throw new ArgumentNullException(nameof(value)));
    }

    private MLContext CreateContext()
    {
        var created = new MLContext();
        return Interlocked.CompareExchange(ref _context, created, null) ?? created;
    }
}
