#nullable enable
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ModelCaching.ML.Compatibility;
using ModelCaching.ML.CompatibilityTests.Samples;
using ModelCaching.ML.CompatibilityTests.Support;

namespace ModelCaching.ML.CompatibilityTests;

/// <summary>In a host, the compatible FromFile resolves a relative path against the content root (issue 20, item 3).</summary>
public sealed class ContentRootTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "modelcaching-ml-root-" + Guid.NewGuid().ToString("N"));

    public ContentRootTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "models"));
        File.Copy(TestModels.IrisPath, Path.Combine(_root, "models", "iris.zip"));
        Assert.False(File.Exists(Path.Combine(Environment.CurrentDirectory, "models", "iris.zip")));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task FromFile_WithARelativePath_InAHost_ReadsTheModelUnderTheContentRoot()
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = _root });
        builder.Services.AddPredictionEnginePool<IrisData, IrisPrediction>().FromFile("IrisModel", "models/iris.zip", watchForChanges: false);
        using IHost host = builder.Build();
        await host.StartAsync();

        IrisPrediction prediction = host.Services.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>().Predict("IrisModel", TestModels.Virginica);

        Assert.Equal(2f, prediction.PredictedLabel);
        await host.StopAsync();
    }
}
