using Microsoft.Extensions.DependencyInjection;

namespace ModelCaching;

/// <summary>Adds models to the cache registered by <c>services.AddModelCache()</c>.</summary>
public interface IModelCacheBuilder
{
    /// <summary>The service collection the cache is registered in.</summary>
    IServiceCollection Services { get; }
}
