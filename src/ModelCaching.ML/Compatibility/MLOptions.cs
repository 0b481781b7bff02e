using Microsoft.ML;

namespace ModelCaching.ML.Compatibility;

/// <summary>
/// The one <see cref="Microsoft.ML.MLContext"/> of the application's ML.NET models: the models registered with
/// <c>UseMLNet()</c> and the <see cref="PredictionEnginePool{TData, TPrediction}"/>s share it. The same type (and
/// namespace role) as Microsoft.Extensions.ML's <c>MLOptions</c>, so code written for it keeps working; configure it with
/// <c>services.Configure&lt;MLOptions&gt;(o =&gt; o.MLContext = new MLContext(seed: 1))</c> or <c>o.Seed = 1</c>.
/// </summary>
public class MLOptions
{
    private MLContext? _context;
    private int? _seed;

    /// <summary>Initializes a new instance of <see cref="MLOptions"/>.</summary>
    public MLOptions()
    {
    }

    /// <summary>
    /// The seed of the <see cref="MLContext"/> created when none is set, for reproducible components.
    /// <value>The default is <see langword="null"/> (ML.NET's own default).</value>
    /// </summary>
    /// <exception cref="InvalidOperationException">The context was already created or set.</exception>
    public int? Seed
    {
        get => _seed;
        set
        {
            if (Volatile.Read(ref _context) is not null)
            {
                throw new InvalidOperationException("The MLContext was already created; set MLOptions.Seed before the first model loads.");
            }

            _seed = value;
        }
    }

    /// <summary>
    /// The <see cref="MLContext"/> that loads the models and creates the prediction engines.
    /// <value>The default is a new <see cref="Microsoft.ML.MLContext"/> (with <see cref="Seed"/>) created on first use.</value>
    /// </summary>
    public MLContext MLContext
    {
        get => Volatile.Read(ref _context) ?? CreateContext();
        set => Volatile.Write(ref _context, value ?? throw new ArgumentNullException(nameof(value)));
    }

    private MLContext CreateContext()
    {
        var created = new MLContext(_seed);
        return Interlocked.CompareExchange(ref _context, created, null) ?? created;
    }
}
