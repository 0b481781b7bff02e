using Microsoft.Extensions.Configuration;
using ModelCaching;

namespace Microsoft.Extensions.DependencyInjection;

// Declares what another package binds from inside the ModelCache configuration section, so that the check at start
// (every key under ModelCache must be one something binds, ConfigurationKeyCheck) knows its keys.
public static partial class ModelCacheBuilderExtensions
{
    /// <summary>
    /// Declares that <typeparamref name="TOptions"/> binds from <paramref name="section"/>. When the section is inside
    /// the <c>ModelCache</c> section (<c>ModelCache:Fleet</c>, say), its keys are the properties
    /// <typeparamref name="TOptions"/> binds, and any other key there fails the start like a misspelled model setting.
    /// A section elsewhere is not checked. Calling it more than once is safe.
    /// </summary>
    /// <typeparam name="TOptions">The options type bound from the section.</typeparam>
    /// <param name="builder">The model cache builder.</param>
    /// <param name="section">The section the options bind from.</param>
    /// <returns>The same builder.</returns>
    public static IModelCacheBuilder DeclareConfigurationSection<TOptions>(this IModelCacheBuilder builder, IConfiguration section)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        builder.Services.AddSingleton(new DeclaredConfigurationSection(section, modelKey: null, typeof(TOptions)));
        return builder;
    }

    /// <summary>
    /// Declares that <typeparamref name="TOptions"/> binds from <paramref name="key"/> under every model and template
    /// (<c>ModelCache:Models:{name}:{key}</c>, <c>ModelCache:Templates:{template}:{key}</c>): a source's own settings,
    /// say. Its keys are the properties <typeparamref name="TOptions"/> binds. Calling it more than once is safe.
    /// </summary>
    /// <typeparam name="TOptions">The options type bound from the key.</typeparam>
    /// <param name="builder">The model cache builder.</param>
    /// <param name="key">The key under each model's section; <c>:</c> separates nested keys.</param>
    /// <returns>The same builder.</returns>
    public static IModelCacheBuilder DeclareModelConfigurationSection<TOptions>(this IModelCacheBuilder builder, string key)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        builder.Services.AddSingleton(new DeclaredConfigurationSection(section: null, key, typeof(TOptions)));
        return builder;
    }
}
