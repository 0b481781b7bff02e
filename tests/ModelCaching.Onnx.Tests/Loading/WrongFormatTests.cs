using Microsoft.ML.OnnxRuntime;
using ModelCaching.Onnx.Tests.Support;

namespace ModelCaching.Onnx.Tests.Loading;

/// <summary>
/// Content that is not a loadable ONNX model fails with a <see cref="ModelLoadException"/> naming the model and ONNX
/// Runtime's message, with no model yet and on a reload; on a reload the serving session is kept and keeps working.
/// </summary>
public sealed class WrongFormatTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task FirstLoad_WhenFileIsAnMLNetZip_ThrowsModelLoadExceptionNamingTheModelAndOnnxRuntimesMessage()
    {
        ModelLoadException error = await FirstLoadFails(TestModels.MLNetZip());

        Assert.Contains("is not a loadable ONNX model (the content is a zip archive, as ML.NET models are", error.Message);
        AssertNamesModelAndOnnxRuntime(error);
    }

    [Fact]
    public async Task FirstLoad_WhenFileIsRandomBytes_ThrowsModelLoadExceptionNamingTheModelAndOnnxRuntimesMessage()
    {
        ModelLoadException error = await FirstLoadFails(TestModels.RandomBytes());

        Assert.Contains("is not a loadable ONNX model: ", error.Message);
        AssertNamesModelAndOnnxRuntime(error);
    }

    [Fact]
    public async Task FirstLoad_WhenFileIsTruncated_ThrowsModelLoadExceptionNamingTheModelAndOnnxRuntimesMessage()
    {
        ModelLoadException error = await FirstLoadFails(TestModels.Truncated());

        Assert.Contains("is not a loadable ONNX model: ", error.Message);
        AssertNamesModelAndOnnxRuntime(error);
    }

    [Fact]
    public async Task FirstLoad_WhenASourceDeliversNoBytes_ThrowsModelLoadExceptionSayingSo()
    {
        var options = new ModelOptions<OnnxModel>
        {
            Source = new DelegateModelSource(static (_, _) => ValueTask.FromResult<ModelArtifact?>(new ModelArtifact(ReadOnlyMemory<byte>.Empty, "blob://models/cancer.onnx")), "blob"),
            RetryBaseDelay = TimeSpan.Zero,
        }.UseOnnxRuntime("cancer");
        await using var cache = new ModelCache<OnnxModel>("cancer", options, new Microsoft.Extensions.Time.Testing.FakeTimeProvider());

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        Assert.Equal("cancer", error.ModelName);
        Assert.Contains("blob://models/cancer.onnx delivered no bytes; an ONNX model is a protobuf file (.onnx).", error.Message);
        Assert.IsType<InvalidDataException>(error.InnerException);
    }

    [Fact]
    public async Task Reload_WhenFileBecomesAnMLNetZip_IsRejected_AndTheServingSessionKeepsServing() =>
        await ReloadIsRejectedAndNothingIsLost(TestModels.MLNetZip());

    [Fact]
    public async Task Reload_WhenFileBecomesRandomBytes_IsRejected_AndTheServingSessionKeepsServing() =>
        await ReloadIsRejectedAndNothingIsLost(TestModels.RandomBytes());

    [Fact]
    public async Task Reload_WhenFileIsTruncated_IsRejected_AndTheServingSessionKeepsServing() =>
        await ReloadIsRejectedAndNothingIsLost(TestModels.Truncated());

    private static void AssertNamesModelAndOnnxRuntime(ModelLoadException error)
    {
        Assert.Equal("cancer", error.ModelName);
        Assert.StartsWith("Model 'cancer' could not be loaded from ", error.Message);
        InvalidDataException cause = Assert.IsType<InvalidDataException>(error.InnerException);
        OnnxRuntimeException onnx = Assert.IsType<OnnxRuntimeException>(cause.InnerException);
        Assert.Contains(onnx.Message, error.Message);
    }

    private async Task<ModelLoadException> FirstLoadFails(byte[] content)
    {
        string path = _directory.File("model.onnx");
        await File.WriteAllBytesAsync(path, content);
        await using ModelCache<OnnxModel> cache = OnnxCaches.Create(path);

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        Assert.Null(cache.Version);
        return error;
    }

    private async Task ReloadIsRejectedAndNothingIsLost(byte[] content)
    {
        string path = _directory.File("model.onnx");
        await File.WriteAllBytesAsync(path, TestModels.Version1);
        var recorder = new RecordingLoader();
        await using ModelCache<OnnxModel> cache = OnnxCaches.Create(path, recorder: recorder);
        float[] before = OnnxCaches.Score(cache);
        ModelVersion serving = cache.Version!;
        await File.WriteAllBytesAsync(path, content);

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());

        Assert.Equal("cancer", error.ModelName);
        Assert.Contains("not a loadable ONNX model", error.Message);
        Assert.Same(serving, cache.Version);
        Assert.Equal(ModelCacheState.Degraded, cache.State);
        Assert.Equal(before, OnnxCaches.Score(cache));
        OnnxModel model = Assert.Single(recorder.Loaded);
        Assert.False(model.IsDisposed);
    }
}
