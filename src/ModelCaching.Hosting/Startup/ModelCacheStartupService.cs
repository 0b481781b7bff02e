using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelCaching.Diagnostics;

namespace ModelCaching;

/// <summary>
/// Applies each model's load policy when the host starts (<see cref="ModelCache{TModel}.StartAsync"/>): loads the eager
/// models, waiting for those with <see cref="ModelOptions.WaitForStartup"/> and starting the others in the background.
/// A lazy or expiring model's cache is not even built: it costs nothing until its first use.
/// </summary>
// The provider is resolved in StartAsync, not injected: the host resolves its hosted services before it runs the start-up
// validation (ValidateOnStart), and building the provider reads the options, which would report the first invalid
// options alone instead of every problem at once (ModelCacheStartupCheck).
internal sealed class ModelCacheStartupService(IServiceProvider services, IOptions<ModelCacheOptions> options, ILoggerFactory loggerFactory) : IHostedService
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("ModelCaching.ModelCacheStartupService");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        ModelCacheProvider provider = services.GetRequiredService<ModelCacheProvider>();
        var waits = new List<(string Name, Task Load)>();
        foreach (string name in provider.Names)
        {
            if (provider.PolicyOf(name) is { } policy && policy != ModelLoadPolicy.Eager)
            {
                continue;
            }

            if (provider.GetCache(name) is not IPolicyAwareCache cache || cache.Policy != ModelLoadPolicy.Eager)
            {
                continue;
            }

            Task load = cache.StartAsync(cancellationToken);
            if (cache.WaitForStartup)
            {
                waits.Add((name, load));
            }
            else
            {
                _ = ObserveAsync(name, load);
            }
        }

        foreach ((string name, Task load) in waits)
        {
            try
            {
                await load.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                if (options.Value.ThrowOnStartupFailure)
                {
                    Log.StartupLoadFailedStopping(_logger, ex, name);
                    throw;
                }

                Log.StartupLoadFailed(_logger, ex, name);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task ObserveAsync(string name, Task load)
    {
        try
        {
            await load.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.StartupLoadFailed(_logger, ex, name);
        }
    }
}
