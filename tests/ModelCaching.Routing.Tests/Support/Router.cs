using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Routing.Membership;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace ModelCaching.Routing.Tests.Support;

/// <summary>
/// The router under test: YARP on Kestrel (127.0.0.1, a free port) with routes from configuration, as docs/routing.md
/// sets it up (<c>LoadFromConfig</c> + <c>AddModelCacheRouting</c> + <c>MapReverseProxy(p =&gt; p.UseModelCacheRouting())</c>).
/// Its clock is a <see cref="FakeTimeProvider"/>: the membership is read at start and when the test moves the clock or an
/// instance answers 421; YARP's passive health resets on the same clock.
/// </summary>
public sealed class Router : IAsyncDisposable
{
    public const string ClusterId = "modelcache";

    private readonly WebApplication _app;

    private Router(WebApplication app, FakeTimeProvider time, HttpClient client)
    {
        _app = app;
        Time = time;
        Client = client;
        Requests = new MetricCollector<long>(Services.GetRequiredService<IMeterFactory>(), ModelCacheDiagnostics.MeterName, "modelcache.routing.requests");
        Retries = new MetricCollector<long>(Services.GetRequiredService<IMeterFactory>(), ModelCacheDiagnostics.MeterName, "modelcache.routing.retries");
        NoOwner = new MetricCollector<long>(Services.GetRequiredService<IMeterFactory>(), ModelCacheDiagnostics.MeterName, "modelcache.routing.no_owner");
    }

    public FakeTimeProvider Time { get; }

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    public MetricCollector<long> Requests { get; }

    public MetricCollector<long> Retries { get; }

    public MetricCollector<long> NoOwner { get; }

    public FakeLogCollector Logs => Services.GetFakeLogCollector();

    internal RoutingMembership Membership => Services.GetRequiredService<RoutingMembership>();

    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(2);

    public static async Task<Router> StartAsync(string redis, string fleetName, Action<ModelCacheRoutingOptions>? configure = null)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Debug).AddFakeLogging();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ReverseProxy:Routes:tenants:ClusterId"] = ClusterId,
            ["ReverseProxy:Routes:tenants:Match:Path"] = "/tenants/{id}/{**rest}",
            ["ModelCacheRouting:Configuration"] = redis,
            ["ModelCacheRouting:FleetName"] = fleetName,
            ["ModelCacheRouting:ModelNameFormat"] = "tenant-{id}",
            ["ModelCacheRouting:RefreshInterval"] = RefreshInterval.ToString(),
        });
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddReverseProxy()
            .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
            .AddModelCacheRouting(builder.Configuration.GetSection("ModelCacheRouting"), configure);

        WebApplication app = builder.Build();
        app.MapReverseProxy(proxy => proxy.UseModelCacheRouting());
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        var router = new Router(app, time, new HttpClient { BaseAddress = new Uri(address), Timeout = Eventually.Timeout });
        await router.Membership.FirstRead.WaitAsync(Eventually.Timeout);
        return router;
    }

    /// <summary>The ids of the cluster's destinations in YARP now.</summary>
    public IReadOnlyList<string> Destinations =>
        Services.GetRequiredService<IProxyStateLookup>().TryGetCluster(ClusterId, out ClusterState? cluster)
            ? [.. cluster.Destinations.Keys.Order(StringComparer.Ordinal)]
            : [];

    /// <summary>YARP's passive health state of a destination of the cluster.</summary>
    public Yarp.ReverseProxy.Model.DestinationHealth DestinationHealth(string instanceId) =>
        Services.GetRequiredService<IProxyStateLookup>().TryGetCluster(ClusterId, out ClusterState? cluster) && cluster.Destinations.TryGetValue(instanceId, out DestinationState? destination)
            ? destination.Health.Passive
            : throw new InvalidOperationException($"no destination {instanceId}");

    /// <summary>Moves the clock by the refresh interval and waits (bounded) until the membership was read again.</summary>
    public async Task RefreshAsync()
    {
        long reads = Membership.Reads;
        Time.Advance(RefreshInterval);
        await Eventually.TrueAsync(() => Membership.Reads > reads, "the router read the membership again");
    }

    /// <summary>Reads the membership now and waits (bounded) until YARP's cluster has exactly <paramref name="instances"/>.</summary>
    public Task WaitForDestinationsAsync(params string[] instances) => WaitForDestinationsAsync(instances, askForReads: true);

    /// <summary>
    /// Waits (bounded) until YARP's cluster has exactly <paramref name="instances"/> without asking for a read or moving the
    /// clock: only what makes the router read by itself (a members-changed message, a reconnect) can bring it about.
    /// </summary>
    public Task WaitForAnnouncedDestinationsAsync(params string[] instances) => WaitForDestinationsAsync(instances, askForReads: false);

    private async Task WaitForDestinationsAsync(string[] instances, bool askForReads)
    {
        string expected = string.Join(",", instances.Order(StringComparer.Ordinal));
        using var bound = new CancellationTokenSource(Eventually.Timeout);
        while (string.Join(",", Destinations) != expected)
        {
            if (bound.IsCancellationRequested)
            {
                Assert.Fail($"YARP's cluster has [{string.Join(",", Destinations)}], not [{expected}], after {Eventually.Timeout}; the router read {Membership.Table.Members.Count} members "
                    + $"({string.Join(", ", Membership.Table.Members.Select(m => $"{m.InstanceId}={m.Address}/{m.Replicas}"))}), {Membership.Destinations.Addresses.Count} with an address, "
                    + $"in {Membership.Reads} reads ({Membership.Announcements} members-changed messages); log: "
                    + string.Join(" | ", Logs.GetSnapshot().Where(r => r.Level >= LogLevel.Information).Select(r => $"{r.Id.Id} {r.Message} {r.Exception?.Message}")));
            }

            if (askForReads)
            {
                Membership.RefreshSoon();
            }

            await Task.Delay(5, CancellationToken.None);
        }
    }

    /// <summary>Sends GET /tenants/{id}/predict and returns the status and the body.</summary>
    public async Task<(int Status, string Body)> PredictAsync(string id, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(content is null ? HttpMethod.Get : HttpMethod.Post, $"/tenants/{id}/predict") { Content = content };
        using HttpResponseMessage response = await Client.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    public async ValueTask DisposeAsync()
    {
        Requests.Dispose();
        Retries.Dispose();
        NoOwner.Dispose();
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
