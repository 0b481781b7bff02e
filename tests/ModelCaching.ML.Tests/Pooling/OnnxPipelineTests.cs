using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.ML.Compatibility;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Pooling;

/// <summary>
/// A real ONNX-in-ML.NET model (an <c>ApplyOnnxModel</c> pipeline saved as a zip) through both pools on all cores
/// while the model is reloaded and rolled back: its InferenceSession must never be disposed under a caller.
/// </summary>
public sealed class OnnxPipelineTests : IDisposable
{
    private const int Swaps = 12;
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "modelcaching-onnx-" + Guid.NewGuid().ToString("N"));
    private readonly string _variantA;
    private readonly string _variantB;
    private readonly string _modelPath;
    private readonly float[] _expected;

    public OnnxPipelineTests()
    {
        Directory.CreateDirectory(_folder);
        _variantA = Path.Combine(_folder, "a.zip");
        _variantB = Path.Combine(_folder, "b.zip");
        _modelPath = Path.Combine(_folder, "model.zip");
        OnnxPipelineModels.Save(PoolFactory.Context, _variantA, withLabel: false);
        OnnxPipelineModels.Save(PoolFactory.Context, _variantB, withLabel: true);
        File.Copy(_variantA, _modelPath);

        // The reference result, from a raw engine of a separate load.
        ITransformer reference = PoolFactory.Context.Model.Load(_variantA, out _);
        using (PredictionEngine<OnnxCancerInput, OnnxCancerPrediction> engine = PoolFactory.Context.Model.CreatePredictionEngine<OnnxCancerInput, OnnxCancerPrediction>(reference))
        {
            _expected = engine.Predict(OnnxCancerInput.Sample).Score;
        }

        (reference as IDisposable)?.Dispose();
        Assert.NotEmpty(_expected);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task PredictionPool_OnnxPipeline_ServesEveryCallOnAllCoresThroughReloadsAndRollbacks()
    {
        var options = new ModelOptions<ITransformer>
        {
            Source = new FileModelSource(_modelPath),
            Loader = new MLNetModelLoader(PoolFactory.Context),
            DrainDelay = TimeSpan.Zero,
            RetryBaseDelay = TimeSpan.Zero,
            RollbackRetention = ModelRollbackRetention.Generation,
        };
        options.Validators.Add(PredictionSchema.CreateValidator<OnnxCancerInput, OnnxCancerPrediction>(PoolFactory.Context, "onnx"));
        using var cache = new ModelCache<ITransformer>("onnx", options);
        using PredictionPool<OnnxCancerInput, OnnxCancerPrediction> pool = PoolFactory.Pool<OnnxCancerInput, OnnxCancerPrediction>(cache);

        await RunAsync(input => pool.Predict(input), cache);
    }

    [Fact]
    public async Task CompatibilityPool_OnnxPipeline_ServesEveryCallOnAllCoresThroughReloadsAndRollbacks()
    {
        var services = new ServiceCollection();
        services.Configure<MLOptions>(o => o.MLContext = PoolFactory.Context);
        services.AddPredictionEnginePool<OnnxCancerInput, OnnxCancerPrediction>().FromFile("onnx", _modelPath, watchForChanges: false);
        using ServiceProvider provider = services.BuildServiceProvider();
        PredictionEnginePool<OnnxCancerInput, OnnxCancerPrediction> pool = provider.GetRequiredService<PredictionEnginePool<OnnxCancerInput, OnnxCancerPrediction>>();

        // Half the calls rent and return engines by hand, as Microsoft.Extensions.ML users do.
        int call = 0;
        await RunAsync(
            input =>
            {
                if (Interlocked.Increment(ref call) % 2 == 0)
                {
                    return pool.Predict("onnx", input);
                }

                PredictionEngine<OnnxCancerInput, OnnxCancerPrediction> engine = pool.GetPredictionEngine("onnx");
                try
                {
                    return engine.Predict(input);
                }
                finally
                {
                    pool.ReturnPredictionEngine("onnx", engine);
                }
            },
            pool.GetPool("onnx").Cache);
    }

    private async Task RunAsync(Func<OnnxCancerInput, OnnxCancerPrediction> predict, IModelCache<ITransformer> cache)
    {
        Assert.Equal(_expected, predict(OnnxCancerInput.Sample).Score);
        int threads = Math.Max(2, Environment.ProcessorCount);
        long failures = 0, disposedUses = 0, wrong = 0, predictions = 0;
        string? firstProblem = null;
        using var stop = new CancellationTokenSource();
        Task[] workers = [.. Enumerable.Range(0, threads).Select(_ => Task.Factory.StartNew(() =>
        {
            OnnxCancerInput input = OnnxCancerInput.Sample;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    if (!predict(input).Score.AsSpan().SequenceEqual(_expected))
                    {
                        Interlocked.Increment(ref wrong);
                    }

                    Interlocked.Increment(ref predictions);
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref failures);
                    if (ex is ObjectDisposedException || ex.InnerException is ObjectDisposedException)
                    {
                        Interlocked.Increment(ref disposedUses);
                    }

                    Interlocked.CompareExchange(ref firstProblem, ex.ToString(), null);
                }
            }
        }, TaskCreationOptions.LongRunning))];

        for (int swap = 1; swap <= Swaps; swap++)
        {
            long seen = Interlocked.Read(ref predictions);
            if (swap % 3 == 0)
            {
                await cache.RollbackAsync();
            }
            else
            {
                // Force: after a rollback the file may hold the variant rolled back from, which a plain reload refuses.
                File.Copy(swap % 2 == 0 ? _variantA : _variantB, _modelPath, overwrite: true);
                await cache.ReloadAsync(force: true);
            }

            await Eventually.TrueAsync(() => Interlocked.Read(ref predictions) > seen + (threads * 20), $"predictions after swap {swap}");
        }

        stop.Cancel();
        await Task.WhenAll(workers).WaitAsync(Eventually.Timeout);

        Assert.True(failures == 0, $"{failures} failed predictions ({disposedUses} on a disposed model); first: {firstProblem}");
        Assert.Equal(0, wrong);
        Assert.True(predictions > Swaps * threads * 20);
    }
}
