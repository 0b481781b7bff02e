using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelCaching.Diagnostics;

namespace ModelCaching;

/// <summary>
/// Loads the eager models when the host starts: waits for those with <see cref="ModelOptions.WaitForStartup"/>,
/// starts the others in the background.
/// </summary>
internal sealed class ModelCacheStartupService(ModelCacheProvider provider, IOptions<ModelCacheOptions> options, ILoggerFactory loggerFactory) : IHostedService
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("ModelCaching.ModelCacheStartupService");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var waits = new List<(string Name, Task Load)>();
        foreach (string name in provider.Names)
        {
            if (provider.GetCache(name) is not IEagerLoadable cache || cache.Settings.Policy != ModelLoadPolicy.Eager)
            {
                continue;
            }

            Task load = cache.LoadAtStartupAsync(cancellationToken);
            if (cache.Settings.WaitForStartup)
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
                Log.StartupLoadFailed(_logger, ex, name);
                if (options.Value.ThrowOnStartupFailure)
                {
                    throw;
                }
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

/// <summary>What the start-up service needs from a cache without knowing its model type.</summary>
internal interface IEagerLoadable
{
    ModelOptions Settings { get; }

    Task LoadAtStartupAsync(CancellationToken cancellationToken);
}
