using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using ModelCaching.FleetHarness;

namespace ModelCaching.Samples.WebApi.Tests.Fleet;

/// <summary>
/// The fleet harness's kill phase (benchmarks/ModelCaching.FleetHarness, linked): the log lines it times the aftermath by,
/// as the processes' console logger writes them, and how a trace's requests and logs become its figures.
/// </summary>
public sealed class KillOutcomeTests
{
    private static readonly DateTime KillUtc = new(2026, 12, 7, 12, 0, 0, 500, DateTimeKind.Utc);

    private static readonly TimeSpan KillAt = TimeSpan.FromSeconds(10);

    [Fact]
    public void LogEvent_ReadsTheLineTheConsoleLoggerWrites_WithTheTimedLogsConfiguration()
    {
        // The same configuration the harness gives the processes, bound the way a host binds it.
        IConfiguration configuration = new ConfigurationBuilder().AddCommandLine(RoutedFleet.TimedLogArguments).Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddConfiguration(configuration.GetSection("Logging")).AddConsole(o => o.FormatterName = ConsoleFormatterNames.Simple));
        using ServiceProvider provider = services.BuildServiceProvider();
        ConsoleFormatter formatter = provider.GetServices<ConsoleFormatter>().Single(f => f.Name == ConsoleFormatterNames.Simple);

        DateTime before = DateTime.UtcNow.AddMilliseconds(-1);
        using var writer = new StringWriter();
        formatter.Write(
            new LogEntry<string>(LogLevel.Warning, "ModelCaching.Routing.Proxy.ModelCacheRoutingMiddleware", new EventId(504), "instance 'i2' failed before answering", null, (state, _) => state),
            new LoggerExternalScopeProvider(),
            writer);
        DateTime after = DateTime.UtcNow.AddMilliseconds(1);

        LogEvent line = Assert.Single(LogEvent.Read(writer.ToString()));
        Assert.Equal(504, line.EventId);
        Assert.Equal("instance 'i2' failed before answering", line.Message);
        Assert.InRange(line.Utc, before, after);
    }

    [Fact]
    public void Measure_SplitsFailuresIntoThoseInFlightAtTheKillAndThoseSentAfter_AndTimesThemFromTheKill()
    {
        TraceRequest[] requests =
        [
            Request(1.0, 0.1, tenant: 1, by: "i2"), // answered before the kill
            Request(9.9, 0.3, tenant: 1, by: null), // in flight, failed (answered 200 ms after the kill)
            Request(9.95, 0.1, tenant: 2, by: "i0"), // in flight, answered well
            Request(10.5, 0.1, tenant: 1, by: null), // sent after, failed
            Request(11.0, 0.5, tenant: 1, by: null), // sent after, failed (answered 1,500 ms after the kill)
            Request(12.0, 0.1, tenant: 1, by: "i0"), // sent after: the dead instance's tenant served again at 2,100 ms
            Request(12.5, 0.1, tenant: 2, by: "i1"),
        ];

        KillOutcome outcome = KillOutcome.Measure(Kill(), requests, Survivors(), Options(placement: false), "", []);

        Assert.Equal((2, 1), (outcome.InFlight, outcome.InFlightFailed));
        Assert.Equal((4, 2), (outcome.After, outcome.AfterFailed));
        Assert.Equal(200, outcome.FirstFailureMs, 3);
        Assert.Equal(1500, outcome.LastFailureMs, 3);
        Assert.Equal((1, 1), (outcome.VictimTenants, outcome.VictimTenantsFailed)); // without placement: tenant 1, which i2 answered before
        Assert.Equal(2100, outcome.VictimTenantFirstSuccessMs, 3);
        Assert.Equal([("i0", 30L, 1), ("i1", 5L, 1)], outcome.SurvivorLoads);
    }

    [Fact]
    public void Measure_TakesTheRoutersRetriesAndDropAndTheSurvivorsDepartureAndWarmUps_FromTheirLogs_AfterTheKillOnly()
    {
        string router = string.Join('\n',
            Line(-2000, "info", 500, "Routing, fleet 'f': 3 live instances with an address: i0=http://a, i1=http://b, i2=http://c."),
            Line(-100, "warn", 504, "Routing, fleet 'f': instance 'i2' failed before answering for model 'tenant-t0001' (Request); …"),
            Line(40, "warn", 504, "Routing, fleet 'f': instance 'i2' failed before answering for model 'tenant-t0002' (Request); …"),
            Line(60, "warn", 504, "Routing, fleet 'f': instance 'i1' failed before answering for model 'tenant-t0003' (Request); …"),
            Line(90, "warn", 504, "Routing, fleet 'f': instance 'i2' failed before answering for model 'tenant-t0004' (Request); …"),
            Line(500, "info", 500, "Routing, fleet 'f': 3 live instances with an address: i0=http://a, i1=http://b, i2=http://c."),
            "   a stack trace line",
            Line(3200, "info", 500, "Routing, fleet 'f': 2 live instances with an address: i0=http://a, i1=http://b."));
        string i0 = string.Join('\n',
            Line(-5000, "info", 401, "Fleet 'f': instance i0 places models over i0, i1 (2 owners each)."),
            Line(2900, "info", 401, "Fleet 'f': instance i0 places models over i0, i1 (2 owners each)."),
            Line(5000, "info", 402, "Fleet 'f': model 'tenant-t0001' moves here from i2; loading it before requests arrive."),
            Line(5001, "info", 406, "Fleet 'f': not loading model 'tenant-t0001' ahead of its requests: …"));
        string i1 = string.Join('\n',
            Line(3100, "info", 401, "Fleet 'f': instance i1 places models over i0, i1 (2 owners each)."),
            Line(5100, "info", 402, "Fleet 'f': model 'tenant-t0002' moves here from i2; loading it before requests arrive."),
            Line(5200, "info", 402, "Fleet 'f': model 'tenant-t0003' moves here from i0; loading it before requests arrive."));

        KillOutcome outcome = KillOutcome.Measure(Kill(), [], Survivors(), Options(placement: true), router, [i0, i1]);

        Assert.Equal(2, outcome.RouterRetries);
        Assert.Equal(90, outcome.RouterLastRetryMs, 3);
        Assert.Equal(3200, outcome.RouterDroppedMs, 3);
        Assert.Equal(3100, outcome.SurvivorsSawMs, 3);
        Assert.Equal((2, 1), (outcome.Warms, outcome.WarmsSkipped));
        Assert.Equal(5000, outcome.FirstWarmMs, 3);
        Assert.Equal(5100, outcome.LastWarmMs, 3);
    }

    private static TraceRequest Request(double sentSeconds, double latencySeconds, int tenant, string? by) =>
        new(TimeSpan.FromSeconds(sentSeconds), tenant, TimeSpan.FromSeconds(latencySeconds), by is null ? 502 : 200, by, by is null ? "502 from ?" : null);

    private static KillMoment Kill() =>
        new("i2", KillAt, KillUtc, ["i0", "i1", "i2"], [Stats("i0", loads: 100), Stats("i1", loads: 200), Stats("i2", loads: 150)]);

    private static InstanceStats[] Survivors() => [Stats("i0", loads: 130), Stats("i1", loads: 205)];

    private static InstanceStats Stats(string id, long loads) => new(id, 0, 0, loads, 0, new HashSet<string>());

    private static RoutedFleetOptions Options(bool placement) => new("sample.dll", "router.dll", "tenants", placement, Replicas: 2, TenantBudgetBytes: 1);

    private static string Line(int msAfterKill, string level, int eventId, string message) =>
        $"{KillUtc.AddMilliseconds(msAfterKill).ToString(RoutedFleetOptions.LogTimestampFormat, System.Globalization.CultureInfo.InvariantCulture)}{level}: Category[{eventId}] {message}";
}
