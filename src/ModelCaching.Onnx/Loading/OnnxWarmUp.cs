using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ModelCaching.Onnx.Diagnostics;

namespace ModelCaching.Onnx.Loading;

/// <summary>
/// One run of a new session before it serves: ONNX Runtime allocates its arenas and picks kernels on the first run,
/// which is many times slower than the rest. The run also leaves one ready runner in the generation's pool.
/// </summary>
internal sealed class OnnxWarmUp
{
    private readonly Action<OnnxRunner>? _inputs;
    private readonly string _modelName;
    private readonly ILogger _logger;

    public OnnxWarmUp(string modelName, Action<OnnxRunner>? inputs, ILogger logger)
    {
        _modelName = modelName;
        _inputs = inputs;
        _logger = logger;
    }

    public ValueTask RunAsync(OnnxModel model, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        long started = Stopwatch.GetTimestamp();
        OnnxRunner runner = model.RentRunner();
        long rental = runner.BeginWarmUp();
        try
        {
            _inputs?.Invoke(runner);

            // ONNX Runtime cannot take a token, but a run stops when its RunOptions say Terminate: a warm-up past the
            // load timeout ends instead of holding the load's slot.
            using (cancellationToken.Register(static state => ((OnnxRunner)state!).Terminate(), runner))
            {
                runner.Run(rental);
            }
        }
        finally
        {
            // The runner's public members stop working here: a runner kept by the callback cannot reach it later.
            runner.EndWarmUp(rental);

            // A terminated runner's options stay terminated: release it rather than pool it.
            if (cancellationToken.IsCancellationRequested)
            {
                runner.Release();
            }
            else
            {
                model.ReturnRunner(runner);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();

        Log.WarmUpCompleted(_logger, _modelName, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return ValueTask.CompletedTask;
    }
}
