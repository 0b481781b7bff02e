using Microsoft.ML;

namespace ModelCaching.ML;

/// <summary>
/// The ML.NET settings shared by every ML.NET model of an application: one <see cref="MLContext"/> loads
/// all models and creates all prediction engines, so that its catalog of components and its random seed
/// are the same everywhere. Configure it with <c>services.Configure&lt;MLNetOptions&gt;(...)</c>.
/// </summary>
public sealed class MLNetOptions
{
    private MLContext? _context;
    private int? _seed;

    /// <summary>
    /// The seed of the <see cref="MLContext"/> created when <see cref="MLContext"/> is not set, for
    /// reproducible results of components that use randomness.
    /// <value>The default is <see langword="null"/>: ML.NET picks a seed.</value>
    /// </summary>
    /// <exception cref="InvalidOperationException">The context was already created.</exception>
    public int? Seed
    {
        get => _seed;
        set
        {
            if (Volatile.Read(ref _context) is not null)
            {
                throw new InvalidOperationException("The MLContext was already created; set MLNetOptions.Seed before the first model loads.");
            }

            _seed = value;
        }
    }

    /// <summary>
    /// The context that loads models and creates prediction engines. Set it to share a context you
    /// configured yourself (logging, GPU settings).
    /// <value>The default is a context created on first use with <see cref="Seed"/>, then kept.</value>
    /// </summary>
    public MLContext MLContext
    {
        get => Volatile.Read(ref _context) ?? CreateContext();
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            Volatile.Write(ref _context, value);
        }
    }

    private MLContext CreateContext()
    {
        var created = new MLContext(_seed);
        return Interlocked.CompareExchange(ref _context, created, null) ?? created;
    }
}
