using Microsoft.Extensions.Logging.Abstractions;
using ModelCaching.Onnx.Loading;
using ModelCaching.Onnx.Tests.Support;

namespace ModelCaching.Onnx.Tests.Loading;

/// <summary>A warm-up whose load times out mid-run is stopped through ONNX Runtime's terminate flag, and its runner is not pooled.</summary>
public sealed class WarmUpCancellationTests
{
    [Fact]
    public async Task WarmUp_WhenTheLoadIsCancelledDuringTheRun_StopsTheRun_AndDoesNotPoolTheTerminatedRunner()
    {
        OnnxRuntimeSettings settings = OnnxRuntimeSettings.Create("cancer", new OnnxRuntimeOptions());
        var loader = new OnnxModelLoader(settings, NullLogger.Instance);
        using OnnxModel model = await loader.LoadAsync(new ModelArtifact(TestModels.Version1, "memory"), CancellationToken.None);
        using var timeout = new CancellationTokenSource();
        var cancelled = new OnnxWarmUp("cancer", _ => timeout.Cancel(), NullLogger.Instance);

        Exception error = await Assert.ThrowsAnyAsync<Exception>(async () => await cancelled.RunAsync(model, timeout.Token));

        Assert.True(error is OperationCanceledException || error.Message.Contains("terminate", StringComparison.OrdinalIgnoreCase), error.ToString());
        var next = new OnnxWarmUp("cancer", null, NullLogger.Instance);
        await next.RunAsync(model, CancellationToken.None); // would fail on a pooled runner whose RunOptions say Terminate
    }
}
