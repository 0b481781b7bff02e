using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;
using Microsoft.ML;
using ModelCaching.Benchmarks.Prediction;
using ModelCaching.ML;
using ModelCaching.ML.Compatibility;

namespace ModelCaching.Benchmarks.ColdBurst;

/// <summary>
/// 1,000 synchronous callers queued on the thread pool at once, on a cold model whose load takes 200 ms (iris.zip plus
/// a 200 ms sleep), until every caller has its answer. <see cref="Lazy{T}"/> (the factory runs on the first caller's
/// thread) is the baseline. Each variant runs in a fresh process, so that no run inherits the threads an earlier burst
/// made the pool grow; the table shows the median of the rounds and the ratio to the baseline's median.
/// <c>dotnet run -c Release --project benchmarks/ModelCaching.Benchmarks -- --harness cold-burst [rounds]</c>
/// </summary>
public sealed class ColdBurstHarness : IHarness
{
    private const int Callers = 1_000;
    private static readonly TimeSpan LoadDelay = TimeSpan.FromMilliseconds(200);
    private static readonly string[] Variants = ["lazy", "get-model", "prediction-pool", "prediction-engine-pool"];

    public string Name => "cold-burst";

    public async Task<int> RunAsync(string[] args)
    {
        if (args is ["--variant", string variant])
        {
            Console.WriteLine(RunVariant(variant).TotalMilliseconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture));
            return 0;
        }

        int rounds = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 5;
        var results = Variants.ToDictionary(static v => v, static _ => new List<double>());
        for (int round = 0; round < rounds; round++)
        {
            foreach (string v in Variants)
            {
                results[v].Add(await RunChildAsync(v));
            }
        }

        double baseline = Median(results["lazy"]);
        Console.WriteLine($"| {Callers:N0} synchronous callers, {LoadDelay.TotalMilliseconds:F0} ms load | median ms | ratio to Lazy<T> | rounds (ms) |");
        Console.WriteLine("|---|---:|---:|---|");
        foreach (string v in Variants)
        {
            double median = Median(results[v]);
            Console.WriteLine($"| {v} | {median:F0} | {median / baseline:F2} | {string.Join(", ", results[v].Select(static x => x.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)))} |");
        }

        return 0;
    }

    private static async Task<double> RunChildAsync(string variant)
    {
        string host = Environment.ProcessPath!;
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            start.ArgumentList.Add(typeof(ColdBurstHarness).Assembly.Location);
        }

        foreach (string arg in (string[])["--harness", "cold-burst", "--variant", variant])
        {
            start.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(start)!;
        string output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return double.Parse(output.Trim().Split('\n')[^1], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static TimeSpan RunVariant(string variant)
    {
        var context = new MLContext(seed: 1);
        byte[] bytes = File.ReadAllBytes(IrisData.ModelPath);
        ITransformer Load()
        {
            Thread.Sleep(LoadDelay);
            using var stream = new MemoryStream(bytes);
            return context.Model.Load(stream, out _);
        }

        switch (variant)
        {
            case "lazy":
            {
                var lazy = new Lazy<ITransformer>(Load);
                return Burst(() => lazy.Value is not null);
            }

            case "get-model":
            {
                using ModelCache<ITransformer> cache = Cache(Load);
                return Burst(() => cache.GetModel() is not null);
            }

            case "prediction-pool":
            {
                using ModelCache<ITransformer> cache = Cache(Load);
                using var pool = new PredictionPool<IrisData, IrisPrediction>(cache, context);
                return Burst(() => pool.Predict(IrisData.Virginica).PredictedLabel == 2f);
            }

            case "prediction-engine-pool":
            {
                var services = new ServiceCollection();
                services.AddPredictionEnginePool<IrisData, IrisPrediction>();
                services.AddOptions<PredictionEnginePoolOptions<IrisData, IrisPrediction>>("iris").Configure(o => o.ModelLoader = new DelegatingLoader(Load));
                using ServiceProvider provider = services.BuildServiceProvider();
                var pool = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();
                return Burst(() => pool.Predict("iris", IrisData.Virginica).PredictedLabel == 2f);
            }

            default:
                throw new ArgumentException($"Unknown variant '{variant}'; use one of {string.Join(", ", Variants)}.");
        }
    }

    private static ModelCache<ITransformer> Cache(Func<ITransformer> load) =>
        new("iris", new ModelOptions<ITransformer>
        {
            Source = new DelegateModelSource((_, _) => ValueTask.FromResult<ModelArtifact?>(new ModelArtifact("iris"u8.ToArray(), "memory")), "memory"),
            Loader = new DelegateModelLoader<ITransformer>((_, _) => ValueTask.FromResult(load())),
        });

    private static TimeSpan Burst(Func<bool> call)
    {
        int failed = 0;
        using var done = new CountdownEvent(Callers);
        long started = Stopwatch.GetTimestamp();
        for (int i = 0; i < Callers; i++)
        {
            ThreadPool.QueueUserWorkItem(_ =>
            {
                try
                {
                    if (!call())
                    {
                        Interlocked.Increment(ref failed);
                    }
                }
                catch
                {
                    Interlocked.Increment(ref failed);
                }
                finally
                {
                    done.Signal();
                }
            });
        }

        if (!done.Wait(TimeSpan.FromMinutes(5)) || failed > 0)
        {
            throw new InvalidOperationException($"{done.CurrentCount} callers still waiting, {failed} failed.");
        }

        return Stopwatch.GetElapsedTime(started);
    }

    private static double Median(List<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted[sorted.Length / 2];
    }

    private sealed class DelegatingLoader(Func<ITransformer> load) : ModelLoader
    {
        public override ITransformer GetModel() => load();

        public override IChangeToken GetReloadToken() => new CancellationChangeToken(CancellationToken.None);
    }
}
