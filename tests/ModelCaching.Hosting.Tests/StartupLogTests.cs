using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using ModelCaching.Tests.Support;

namespace ModelCaching.Hosting.Tests;

/// <summary>What the start-up logs when an eager model fails says what happens next (issue 20, item 7).</summary>
public sealed class StartupLogTests
{
    private static (IHost Host, FakeLogCollector Logs) Build(bool throwOnStartupFailure)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Logging.AddFakeLogging();
        string missing = Path.Combine(Path.GetTempPath(), "modelcaching-missing-" + Guid.NewGuid().ToString("N"), "taxi-fare.zip");
        builder.Services.AddModelCache(o => o.ThrowOnStartupFailure = throwOnStartupFailure).AddHostedStartup()
            .AddModel<FakeModel>("taxi-fare", m => m.FromFile(missing).UseLoader(new FakeLoader()).Eager(waitForStartup: true));
        IHost host = builder.Build();
        return (host, host.Services.GetFakeLogCollector());
    }

    [Fact]
    public async Task MissingFile_WithThrowOnStartupFailure_LogsThatTheStartFails_NotABackgroundRetry()
    {
        (IHost host, FakeLogCollector logs) = Build(throwOnStartupFailure: true);
        using (host)
        {
            await Assert.ThrowsAsync<ModelLoadException>(() => host.StartAsync());
        }

        FakeLogRecord record = Assert.Single(logs.GetSnapshot(), r => r.Category == "ModelCaching.ModelCacheStartupService");
        Assert.Equal(17, record.Id.Id);
        Assert.Equal(LogLevel.Critical, record.Level);
        Assert.Equal("Eager model 'taxi-fare' could not be loaded at start-up and ThrowOnStartupFailure is on: the host's start fails with this exception.", record.Message);
        Assert.DoesNotContain(logs.GetSnapshot(), r => r.Message.Contains("retried in the background", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MissingFile_WithoutThrowOnStartupFailure_LogsThatTheLoadIsRetriedInTheBackground()
    {
        (IHost host, FakeLogCollector logs) = Build(throwOnStartupFailure: false);
        using (host)
        {
            await host.StartAsync();

            FakeLogRecord record = Assert.Single(logs.GetSnapshot(), r => r.Category == "ModelCaching.ModelCacheStartupService");
            Assert.Equal(14, record.Id.Id);
            Assert.Contains("the load is retried in the background", record.Message, StringComparison.Ordinal);
            await host.StopAsync();
        }
    }
}
