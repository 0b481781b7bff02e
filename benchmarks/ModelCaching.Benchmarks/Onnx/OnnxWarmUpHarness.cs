using System.Diagnostics;
using System.Globalization;
using ModelCaching.Onnx;

namespace ModelCaching.Benchmarks.Onnx;

/// <summary>
/// First-call latency after a swap, with and without the warm-up run, over many swaps: each swap (not timed) puts the
/// other of two versions in place and reloads; then the first typed call and the second one are timed one by one
/// with a Stopwatch, so both are measured the same way. Swaps of the two caches alternate, so background load hits
/// both alike. <c>-- --harness onnx-warm-up [swaps = 200]</c>.
/// </summary>
public sealed class OnnxWarmUpHarness : IHarness
{
    public string Name => "onnx-warm-up";

    public async Task<int> RunAsync(string[] args)
    {
        int swaps = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200;
        string directory = Directory.CreateTempSubdirectory("modelcaching-onnx-warmup-").FullName;
        try
        {
            byte[] original = await File.ReadAllBytesAsync(OnnxSample.ModelPath);
            byte[] other = (byte[])original.Clone();
            other[other.AsSpan().IndexOf("machinelearning.dotnet"u8)] = (byte)'M'; // other bytes, same model: a real swap
            byte[][] versions = [original, other];
            string coldPath = Path.Combine(directory, "cold.onnx");
            string warmPath = Path.Combine(directory, "warm.onnx");
            await File.WriteAllBytesAsync(coldPath, original);
            await File.WriteAllBytesAsync(warmPath, original);
            using ModelCache<OnnxModel> cold = OnnxSample.CreateCache(coldPath, warmUp: false);
            using ModelCache<OnnxModel> warm = OnnxSample.CreateCache(warmPath, warmUp: true);

            var results = new Dictionary<string, List<double>>
            {
                ["no warm-up, first call after the swap"] = [],
                ["no warm-up, second call"] = [],
                ["warm-up, first call after the swap"] = [],
                ["warm-up, second call"] = [],
            };
            for (int i = 0; i < swaps; i++)
            {
                foreach ((ModelCache<OnnxModel> cache, string path, string label) in ((ModelCache<OnnxModel>, string, string)[])[(cold, coldPath, "no warm-up"), (warm, warmPath, "warm-up")])
                {
                    await File.WriteAllBytesAsync(path, versions[(i + 1) & 1]);
                    await cache.ReloadAsync();
                    results[$"{label}, first call after the swap"].Add(TimedCall(cache));
                    results[$"{label}, second call"].Add(TimedCall(cache));
                }
            }

            double steady = Median(results["warm-up, second call"]);
            Console.WriteLine($"{swaps} swaps per cache; times in microseconds");
            Console.WriteLine("| call | median | p90 | max | median / steady (warm-up, second call) |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            foreach ((string name, List<double> times) in results)
            {
                double[] sorted = [.. times.Order()];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {name} | {Median(times):F1} | {sorted[(int)(sorted.Length * 0.9)]:F1} | {sorted[^1]:F1} | {Median(times) / steady:F1}× |"));
            }

            return 0;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static double TimedCall(IModelCache<OnnxModel> cache)
    {
        long started = Stopwatch.GetTimestamp();
        using (OnnxInference inference = cache.Rent())
        {
            inference.SetString("Label", OnnxSample.Label);
            OnnxSample.Features.CopyTo(inference.Input<float>("Features"));
            inference.Run();
            _ = inference.Output<float>("Score.onnx")[0];
        }

        return Stopwatch.GetElapsedTime(started).TotalMicroseconds;
    }

    private static double Median(List<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
