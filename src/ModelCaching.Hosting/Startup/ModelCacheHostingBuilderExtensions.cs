using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ModelCaching;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Runs the model cache inside a generic host (Microsoft.Extensions.Hosting, ASP.NET Core).</summary>
public static class ModelCacheHostingBuilderExtensions
{
    /// <summary>
    /// Loads the eager models (<see cref="ModelLoadPolicy.Eager"/>) when the host starts, with an
    /// <see cref="IHostedService"/>: host start-up waits for those with <see cref="ModelOptions.WaitForStartup"/> and
    /// fails when one of them fails to load and <see cref="ModelCacheOptions.ThrowOnStartupFailure"/> is on; the others
    /// load in the background. Without it (no host, or a host that does not call it) an eager model loads on first use.
    /// Calling it more than once is safe.
    /// </summary>
    /// <param name="builder">The model cache builder (<c>services.AddModelCache()</c>).</param>
    /// <returns>The same builder.</returns>
    public static IModelCacheBuilder AddHostedStartup(this IModelCacheBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddStartupService(builder.Services);
        return builder;
    }

    /// <summary>Registers the start-up service once, whoever asks for it first (this builder or the health checks).</summary>
    internal static void AddStartupService(IServiceCollection services) =>
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ModelCacheStartupService>(
            static sp => ActivatorUtilities.CreateInstance<ModelCacheStartupService>(sp, sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance)));
}
