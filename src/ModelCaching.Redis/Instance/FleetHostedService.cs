using Microsoft.Extensions.Hosting;

namespace ModelCaching.Redis.Instance;

/// <summary>Starts the instance's fleet agent with the host (without waiting for Redis) and stops it, leaving the fleet, with the host.</summary>
internal sealed class FleetHostedService(FleetAgent agent) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => agent.StartAsync();

    public Task StopAsync(CancellationToken cancellationToken) => agent.StopAsync(cancellationToken);
}
