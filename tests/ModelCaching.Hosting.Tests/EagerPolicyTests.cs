using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ModelCaching.Tests.Support;

namespace ModelCaching.Hosting.Tests;

public sealed class EagerPolicyTests
{
    private static HostApplicationBuilder Host(MutableSource source, FakeLoader loader, bool waitForStartup, Action<ModelCacheOptions>? configure = null)
    {
        HostApplicationBuilder builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddModelCache(configure ?? (_ => { })).AddHostedStartup()
            .AddModel<FakeModel>("eager-model", model => model.FromSource(source).UseLoader(loader).Eager(waitForStartup))
            .AddModel<FakeModel>("lazy-model", model => model.FromSource(new MutableSource("lazy")).UseLoader(new FakeLoader()));
        return builder;
    }

    [Fact]
    public async Task HostStart_WithWaitForStartup_LoadsBeforeStartReturns()
    {
        var loader = new FakeLoader();
        using IHost host = Host(new MutableSource("v1"), loader, waitForStartup: true).Build();

        await host.StartAsync();

        var cache = host.Services.GetRequiredKeyedService<IModelCache<FakeModel>>("eager-model");
        Assert.Equal(ModelCacheState.Ready, cache.State);
        Assert.Equal(1, loader.Loads);
        Assert.Equal(0, cache.GetStatistics().Misses);
        Assert.Equal("v1", cache.GetModel().Content);
        await host.StopAsync();
    }

    [Fact]
    public async Task HostStart_WithoutWaitForStartup_ReturnsWhileTheLoadRunsInTheBackground()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loader = new FakeLoader { BeforeLoad = _ => gate.Task };
        using IHost host = Host(new MutableSource("v1"), loader, waitForStartup: false).Build();
        var cache = host.Services.GetRequiredKeyedService<IModelCache<FakeModel>>("eager-model");
        Task<ModelReloadedEventArgs> loaded = Eventually.NextReload(cache);

        await host.StartAsync().WaitAsync(Eventually.Timeout);

        Assert.Equal(ModelCacheState.Loading, cache.State);
        gate.SetResult();
        ModelReloadedEventArgs args = await loaded;
        Assert.Equal(ModelLoadReason.Startup, args.Reason);
        Assert.Equal(ModelCacheState.Ready, cache.State);
        await host.StopAsync();
    }

    [Fact]
    public async Task HostStart_DoesNotLoadLazyModels()
    {
        using IHost host = Host(new MutableSource("v1"), new FakeLoader(), waitForStartup: true).Build();

        await host.StartAsync();

        var lazy = host.Services.GetRequiredKeyedService<IModelCache<FakeModel>>("lazy-model");
        Assert.Equal(ModelCacheState.NotLoaded, lazy.State);
        await host.StopAsync();
    }

    [Fact]
    public async Task HostStart_WhenTheEagerLoadFails_StartsAnywayAndReportsFailed()
    {
        using IHost host = Host(new MutableSource("bad bytes"), new FakeLoader(), waitForStartup: true).Build();

        await host.StartAsync();

        var cache = host.Services.GetRequiredKeyedService<IModelCache<FakeModel>>("eager-model");
        Assert.Equal(ModelCacheState.Failed, cache.State);
        Assert.Contains("corrupt model", cache.GetStatistics().LastError);
        await host.StopAsync();
    }

    [Fact]
    public async Task HostStart_WithThrowOnStartupFailure_FailsNamingTheModel()
    {
        using IHost host = Host(new MutableSource("bad bytes"), new FakeLoader(), waitForStartup: true, o => o.ThrowOnStartupFailure = true).Build();

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(() => host.StartAsync());

        Assert.Equal("eager-model", error.ModelName);
        Assert.IsType<InvalidDataException>(error.InnerException);
    }

    [Fact]
    public async Task HostShutdown_DisposesEveryModel_AndLaterUseThrowsObjectDisposed()
    {
        var loader = new FakeLoader();
        IHost host = Host(new MutableSource("v1"), loader, waitForStartup: true).Build();
        await host.StartAsync();
        var cache = host.Services.GetRequiredKeyedService<IModelCache<FakeModel>>("eager-model");
        FakeModel model = cache.GetModel();

        await host.StopAsync();
        host.Dispose();

        Assert.Equal(1, model.DisposeCount);
        Assert.Throws<ObjectDisposedException>(() => cache.GetModel());
        Assert.Throws<ObjectDisposedException>(() => cache.Acquire());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => cache.ReloadAsync());
    }
}
