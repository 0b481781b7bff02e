using Microsoft.Extensions.Configuration;

namespace ModelCaching;

/// <summary>The configuration section given to <c>AddModelCache(IConfiguration)</c>; models bind from its <c>Models:{name}</c> children.</summary>
internal sealed class ModelCacheConfiguration(IConfiguration section)
{
    public IConfiguration Section { get; } = section;

    public IConfigurationSection ForModel(string name) => Section.GetSection("Models").GetSection(name);
}
