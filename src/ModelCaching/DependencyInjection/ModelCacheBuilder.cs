using Microsoft.Extensions.DependencyInjection;

namespace ModelCaching;

internal sealed class ModelCacheBuilder(IServiceCollection services) : IModelCacheBuilder
{
    public IServiceCollection Services { get; } = services;
}
