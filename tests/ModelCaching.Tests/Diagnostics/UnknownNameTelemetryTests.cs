using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using ModelCaching.Tests.Support;
using ModelCaching.Tests.Templates;
using Xunit.Abstractions;

namespace ModelCaching.Tests.Diagnostics;

/// <summary>
/// Telemetry is bounded by what exists: names asked of a template whose model does not exist (anonymous clients making
/// names up) add no metric series, no memory and at most a rate-limited log line per template.
/// </summary>
[Collection(nameof(MemoryMeasuringTests))]
public sealed class UnknownNameTelemetryTests(ITestOutputHelper output)
{
    private const int Ghosts = 10_000;

    [Fact]
    public async Task TenThousandNamesThatDoNotExist_AddNoSeriesNorMemory_LogARateLimitedLine_AndARealTenantStillGetsItsSeries()
    {
        using var files = new TenantFiles();
        files.Write("real");
        ServiceCollection services = files.Services();
        services.AddMetrics();
        services.RemoveAll<ILoggerFactory>(); // the cache's null logger, registered first: logging here is added after it
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Information).AddFakeLogging());
        await using ServiceProvider built = services.BuildServiceProvider();
        IModelCacheProvider provider = built.GetRequiredService<IModelCacheProvider>();
        FakeLogCollector logs = built.GetFakeLogCollector();
        using var series = new SeriesRecorder(built.GetRequiredService<IMeterFactory>());

        // One first, so that what the first use of anything costs (code, pools) is not counted against the names.
        await AskForGhostAsync(provider, "ghost-warm-up");
        series.Observe();
        long before = RetainedBytes();
        for (int i = 0; i < Ghosts; i++)
        {
            await AskForGhostAsync(provider, $"ghost{i}");
            if (i % 1_000 == 0)
            {
                series.Observe(); // a scrape now and then, while names come and go
            }
        }

        await Eventually.TrueAsync(() => !provider.Names.Any(static n => n.StartsWith("ghost", StringComparison.Ordinal)), "every made-up name to be let go");
        series.Observe();
        long retained = RetainedBytes() - before;
        int ghostLines = logs.GetSnapshot().Count(static r => r.Message.Contains("ghost", StringComparison.Ordinal));
        output.WriteLine($"{Ghosts:N0} made-up names: {series.Names.Count(static n => n.StartsWith("ghost", StringComparison.Ordinal))} series names, {retained:N0} B retained, {ghostLines} log lines");
        foreach (FakeLogRecord record in logs.GetSnapshot().Take(6))
        {
            output.WriteLine($"{record.Level} {record.Id}: {record.Message}");
        }

        Assert.DoesNotContain(series.Names, static n => n.StartsWith("ghost", StringComparison.Ordinal));
        Assert.True(retained < Ghosts * 100L, $"The provider retained {retained:N0} B after {Ghosts:N0} made-up names ({retained / Ghosts} B each).");
        Assert.Equal(1, ghostLines);

        // Later, one more line says how many were not logged meanwhile.
        files.Time.Advance(TimeSpan.FromMinutes(1));
        await AskForGhostAsync(provider, "ghost-after-a-minute");
        // The line is written as the name is let go, which may be just after the caller has its failure.
        await Eventually.TrueAsync(() => logs.GetSnapshot().Any(static r => r.Message.Contains("ghost-after-a-minute", StringComparison.Ordinal)), "the next line, a minute later");
        string[] lines = [.. logs.GetSnapshot().Where(static r => r.Message.Contains("ghost", StringComparison.Ordinal)).Select(static r => r.Message)];
        Assert.True(lines.Length == 2, string.Join(Environment.NewLine, lines));
        string summary = lines[1];
        Assert.Contains("ghost-after-a-minute", summary, StringComparison.Ordinal);
        Assert.Contains($"{Ghosts} other first load(s)", summary, StringComparison.Ordinal);

        // A tenant that exists still gets its own series.
        await provider.GetCache<FakeModel>("real").GetModelAsync();
        series.Observe();
        Assert.Contains(("modelcache.loads", "real"), series.Series);
        Assert.Contains(("modelcache.model.count", "real"), series.Series);
        Assert.Contains(("modelcache.loads", ModelCacheMetricsUnknownName), series.Series);
    }

    // The bounded value every never-loaded name of a template is counted under.
    private const string ModelCacheMetricsUnknownName = "(unknown)";

    private static async Task AskForGhostAsync(IModelCacheProvider provider, string name)
    {
        ModelLoadException error = await Assert.ThrowsAsync<TemplateModelNotFoundException>(async () => await provider.GetCache<FakeModel>(name).GetModelAsync());
        Assert.IsType<FileNotFoundException>(error.InnerException);
    }

    private static long RetainedBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>Every (instrument, model name) pair the application's <c>ModelCaching</c> meter reports: its series by name.</summary>
    private sealed class SeriesRecorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<(string Instrument, string Model), byte> _series = new();

        public SeriesRecorder(IMeterFactory meters)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == ModelCacheDiagnostics.MeterName && ReferenceEquals(instrument.Meter.Scope, meters))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, _, tags, _) => Record(instrument, tags));
            _listener.SetMeasurementEventCallback<double>((instrument, _, tags, _) => Record(instrument, tags));
            _listener.SetMeasurementEventCallback<int>((instrument, _, tags, _) => Record(instrument, tags));
            _listener.Start();
        }

        public ICollection<(string Instrument, string Model)> Series => _series.Keys;

        public HashSet<string> Names => [.. _series.Keys.Select(static s => s.Model)];

        public void Observe() => _listener.RecordObservableInstruments();

        public void Dispose() => _listener.Dispose();

        private void Record(Instrument instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "modelcache.model.name")
                {
                    _series.TryAdd((instrument.Name, tag.Value as string ?? string.Empty), 0);
                }
            }
        }
    }
}
