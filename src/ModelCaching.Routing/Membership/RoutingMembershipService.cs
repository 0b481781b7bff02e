using Microsoft.Extensions.Hosting;

namespace ModelCaching.Routing.Membership;

/// <summary>Starts and stops the membership's reads with the host.</summary>
internal sealed class RoutingMembershipService(RoutingMembership membership) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => membership.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => membership.StopAsync(cancellationToken);
}
