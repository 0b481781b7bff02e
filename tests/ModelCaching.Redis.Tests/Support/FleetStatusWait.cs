namespace ModelCaching.Redis.Tests.Support;

/// <summary>Bounded waits on what the fleet reports in Redis (membership entries are written by each instance's loop).</summary>
public static class FleetStatusWait
{
    public static async Task<FleetStatus> UntilAsync(IModelFleet fleet, Func<FleetStatus, bool> condition, string what)
    {
        using var bound = new CancellationTokenSource(Eventually.Timeout);
        FleetStatus status = await fleet.GetStatusAsync();
        while (!condition(status))
        {
            if (bound.IsCancellationRequested)
            {
                Assert.Fail($"Timed out after {Eventually.Timeout} waiting for: {what}; the fleet reports {Describe(status)}");
            }

            await Task.Delay(5, CancellationToken.None);
            status = await fleet.GetStatusAsync();
        }

        return status;
    }

    public static string Describe(FleetStatus status) =>
        string.Join("; ", status.Members.Select(m => $"{m.InstanceId}: " + string.Join(", ", m.Models.Select(x => $"{x.Name} desired {x.DesiredVersionId} served {x.ServedVersionId} {x.State} {x.LastError}"))));
}
