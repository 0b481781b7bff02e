using StackExchange.Redis;

namespace ModelCaching.Redis.Tests.Support;

/// <summary>Bounded waits on what the fleet reports in Redis (membership entries are written by each instance's loop).</summary>
public static class FleetStatusWait
{
    /// <remarks>
    /// A read that fails because the connection is coming back (a test that just restarted redis-server) is tried again
    /// within the bound: the wait is for what the fleet reports, and the reader's own reconnect is part of it.
    /// </remarks>
    public static async Task<FleetStatus> UntilAsync(IModelFleet fleet, Func<FleetStatus, bool> condition, string what)
    {
        using var bound = new CancellationTokenSource(Eventually.Timeout);
        FleetStatus? status = await TryReadAsync(fleet, bound.Token);
        while (status is null || !condition(status))
        {
            if (bound.IsCancellationRequested)
            {
                Assert.Fail($"Timed out after {Eventually.Timeout} waiting for: {what}; the fleet reports {(status is null ? "nothing (Redis unreachable)" : Describe(status))}");
            }

            await Task.Delay(5, CancellationToken.None);
            status = await TryReadAsync(fleet, bound.Token) ?? status;
        }

        return status;
    }

    public static string Describe(FleetStatus status) =>
        string.Join("; ", status.Members.Select(m => $"{m.InstanceId}: " + string.Join(", ", m.Models.Select(x => $"{x.Name} desired {x.DesiredVersionId} served {x.ServedVersionId} {x.State} {x.LastError}"))));

    private static async Task<FleetStatus?> TryReadAsync(IModelFleet fleet, CancellationToken bound)
    {
        try
        {
            return await fleet.GetStatusAsync();
        }
        catch (Exception ex) when (ex is RedisConnectionException or RedisTimeoutException && !bound.IsCancellationRequested)
        {
            return null;
        }
    }
}
