using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ModelCaching.FleetHarness;

/// <summary>What one instance holds and has loaded, read from its own endpoints.</summary>
/// <param name="Id">The instance's id.</param>
/// <param name="ResidentBytes">The tenants budget's resident bytes (<c>GET /models/budgets</c>).</param>
/// <param name="Evictions">The tenants budget's evictions.</param>
/// <param name="Loads">Tenant model loads (<c>modelcache_load_duration_seconds_count</c> of <c>tenant-*</c>, every outcome).</param>
/// <param name="LoadSeconds">The time those loads took (<c>modelcache_load_duration_seconds_sum</c>).</param>
/// <param name="Loaded">The tenants' model names that are Ready now (<c>GET /models?state=ready</c>).</param>
public sealed partial record InstanceStats(string Id, long ResidentBytes, long Evictions, long Loads, double LoadSeconds, IReadOnlySet<string> Loaded)
{
    /// <summary>Reads <paramref name="instance"/>'s figures (status is open to anonymous callers in the harness's instances).</summary>
    public static async Task<InstanceStats> ReadAsync(ServiceProcess instance)
    {
        HttpClient client = instance.Client;
        JsonElement budgets = JsonDocument.Parse(await client.GetStringAsync("/models/budgets")).RootElement;
        JsonElement tenants = budgets.EnumerateArray().Single(b => b.GetProperty("scope").GetString() == "tenants");

        long loads = 0;
        double seconds = 0;
        foreach (string line in (await client.GetStringAsync("/metrics")).Split('\n'))
        {
            Match match = LoadDuration().Match(line);
            if (match.Success)
            {
                double value = double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
                if (match.Groups["kind"].Value == "count")
                {
                    loads += (long)value;
                }
                else
                {
                    seconds += value;
                }
            }
        }

        var loaded = new HashSet<string>(StringComparer.Ordinal);
        for (int offset = 0; ; offset += 1000)
        {
            JsonElement page = JsonDocument.Parse(await client.GetStringAsync($"/models?state=ready&limit=1000&offset={offset}")).RootElement;
            foreach (JsonElement model in page.EnumerateArray())
            {
                string name = model.GetProperty("name").GetString()!;
                if (name.StartsWith("tenant-", StringComparison.Ordinal))
                {
                    loaded.Add(name);
                }
            }

            if (page.GetArrayLength() < 1000)
            {
                break;
            }
        }

        return new InstanceStats(
            instance.Name,
            tenants.GetProperty("residentBytes").GetInt64(),
            tenants.GetProperty("evictions").GetInt64(),
            loads,
            seconds,
            loaded);
    }

    // modelcache_load_duration_seconds_sum{otel_scope_name="ModelCaching",modelcache_load_outcome="success",modelcache_model_name="tenant-t0000"} 0.21
    [GeneratedRegex("""^modelcache_load_duration_seconds_(?<kind>sum|count)\{[^}]*modelcache_model_name="tenant-[^"]*"[^}]*\} (?<value>[0-9.eE+-]+)""")]
    private static partial Regex LoadDuration();
}
