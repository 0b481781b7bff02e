using Microsoft.Extensions.DependencyInjection;

namespace ModelCaching.ML.Compatibility;

/// <summary>Configures the models of a <see cref="PredictionEnginePool{TData, TPrediction}"/> (<c>FromFile</c>, <c>FromUri</c>).</summary>
/// <typeparam name="TData">The input type.</typeparam>
/// <typeparam name="TPrediction">The output type.</typeparam>
public class PredictionEnginePoolBuilder<TData, TPrediction>
    where TData : class
    where TPrediction : class, new()
{
    /// <summary>Initializes a new instance of <see cref="PredictionEnginePoolBuilder{TData, TPrediction}"/>.</summary>
    /// <param name="services">The <see cref="IServiceCollection"/> to add services to.</param>
    public PredictionEnginePoolBuilder(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        Services = services;
    }

    /// <summary>The <see cref="IServiceCollection"/> to add services to.</summary>
    public IServiceCollection Services { get; private set; }
}
