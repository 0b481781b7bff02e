using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Diagnostics;

public sealed class LoggingTests
{
    private readonly FakeLoggerProvider _logs = new();

    private ModelCache<FakeModel> Create(CacheFactory factory, Action<ModelOptions<FakeModel>>? configure = null) =>
        new("scorer", factory.Options(configure), factory.Time, LoggerFactory.Create(b => b.AddProvider(_logs).SetMinimumLevel(LogLevel.Trace)));

    private IReadOnlyList<FakeLogRecord> Logs(int eventId) => [.. _logs.Collector.GetSnapshot().Where(r => r.Id.Id == eventId)];

    [Fact]
    public async Task SuccessfulLoad_LogsStartedAndServingWithEventIds()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = Create(factory);

        await cache.GetModelAsync();

        Assert.Single(Logs(1));
        FakeLogRecord loaded = Assert.Single(Logs(2));
        Assert.Equal(LogLevel.Information, loaded.Level);
        Assert.Contains("'scorer'", loaded.Message);
        Assert.Contains(cache.Version!.Id, loaded.Message);
    }

    [Fact]
    public async Task FailedReload_LogsAWarningThatTheLastGoodModelServes_AndSchedulesARetry()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = Create(factory);
        await cache.GetModelAsync();
        factory.Source.Content = "bad bytes";

        await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());

        FakeLogRecord warning = Assert.Single(Logs(4));
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.IsType<ModelLoadException>(warning.Exception);
        Assert.Single(Logs(8));
    }

    [Fact]
    public async Task FailedFirstLoad_LogsAnError()
    {
        var factory = new CacheFactory();
        factory.Source.Content = "bad bytes";
        await using ModelCache<FakeModel> cache = Create(factory);

        await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        Assert.Equal(LogLevel.Error, Assert.Single(Logs(3)).Level);
    }

    [Fact]
    public async Task IdleUnload_LogsUnloaded()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = Create(factory, o => o.IdleTimeout = TimeSpan.FromMinutes(1));
        await cache.GetModelAsync();

        factory.Time.Advance(TimeSpan.FromMinutes(2));

        Assert.Contains("idle", Assert.Single(Logs(7)).Message);
    }

    [Fact]
    public async Task SourceBackToTheServingContent_LogsRecoveredAtInformation()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = Create(factory, o => o.RetryBaseDelay = TimeSpan.Zero);
        await cache.GetModelAsync();
        factory.Source.Content = "bad bytes";
        await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());

        factory.Source.Content = "v1";
        await cache.ReloadAsync();

        FakeLogRecord recovered = Assert.Single(Logs(16));
        Assert.Equal(LogLevel.Information, recovered.Level);
        Assert.Equal(ModelCacheState.Ready, cache.State);
    }
}
