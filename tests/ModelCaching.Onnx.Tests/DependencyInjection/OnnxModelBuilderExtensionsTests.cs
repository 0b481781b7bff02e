using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ModelCaching.Onnx.Tests.Support;

namespace ModelCaching.Onnx.Tests.DependencyInjection;

/// <summary><c>AddModel&lt;OnnxModel&gt;(...).UseOnnxRuntime()</c> in a service collection.</summary>
public sealed class OnnxModelBuilderExtensionsTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task UseOnnxRuntime_RegistersAKeyedCache_ThatServesTheTypedApi()
    {
        string path = _directory.File("model.onnx");
        await File.WriteAllBytesAsync(path, TestModels.Version1);
        var services = new ServiceCollection();
        services.AddModelCache()
            .AddModel<OnnxModel>("cancer", model => model
                .FromFile(path)
                .UseOnnxRuntime(onnx => onnx.IntraOpThreads = 1));
        await using ServiceProvider provider = services.BuildServiceProvider();

        IModelCache<OnnxModel> cache = provider.GetRequiredKeyedService<IModelCache<OnnxModel>>("cancer");

        Assert.Equal(TestModels.RawScores(TestModels.Version1), OnnxCaches.Score(cache));
        Assert.Equal((await cache.GetModelAsync()).EstimatedSizeBytes, cache.Version!.SizeBytes);
    }

    [Fact]
    public async Task EagerModel_IsLoadedAndWarmedUpWhenTheHostStarts_BeforeAnyRequest()
    {
        string path = _directory.File("model.onnx");
        await File.WriteAllBytesAsync(path, TestModels.Version1);
        int warmUps = 0;
        var services = new ServiceCollection();
        services.AddModelCache()
            .AddHostedStartup()
            .AddModel<OnnxModel>("cancer", model => model
                .FromFile(path)
                .UseOnnxRuntime(onnx => onnx.WarmUpInputs = _ => Interlocked.Increment(ref warmUps))
                .Eager(waitForStartup: true));
        await using ServiceProvider provider = services.BuildServiceProvider();
        IModelCache<OnnxModel> cache = provider.GetRequiredKeyedService<IModelCache<OnnxModel>>("cancer");

        foreach (IHostedService hosted in provider.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        Assert.Equal(ModelCacheState.Ready, cache.State);
        Assert.Equal(1, warmUps);
        using OnnxInference inference = await cache.RentAsync();
        Assert.Equal(1, inference.Version.Generation);
    }

    [Fact]
    public async Task UseOnnxRuntime_WithInvalidOptions_FailsWhenTheCacheIsBuilt_NamingTheModelAndTheField()
    {
        var services = new ServiceCollection();
        services.AddModelCache()
            .AddModel<OnnxModel>("cancer", model => model
                .FromFile(_directory.File("model.onnx"))
                .UseOnnxRuntime(onnx => onnx.OptimizedModelFilePath = _directory.File("nowhere/optimized.onnx")));
        await using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredKeyedService<IModelCache<OnnxModel>>("cancer"));

        Assert.Contains("Model 'cancer': OnnxRuntimeOptions.OptimizedModelFilePath", error.Message);
    }
}
