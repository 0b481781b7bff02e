using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using ModelCaching.Onnx;

namespace ModelCaching.Benchmarks.Onnx;

/// <summary>
/// Throughput over seconds, for a noisy machine: raw <c>session.Run</c>, the same under a lease, and the typed API,
/// each run for a few seconds on 1 and 2 threads, in rounds whose order rotates so that background load hits every
/// way alike. Reports each way's median throughput, the median of the per-round ratios to raw, and bytes per call.
/// <c>-- --harness onnx-throughput [seconds per run = 2] [rounds = 5]</c>.
/// </summary>
public sealed class OnnxThroughputHarness : IHarness
{
    private static readonly string[] Ways = ["raw session.Run", "lease + session.Run", "typed API (Rent + Run)"];

    public string Name => "onnx-throughput";

    public Task<int> RunAsync(string[] args)
    {
        double seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 2;
        int rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        using SessionOptions sessionOptions = OnnxSample.RawSessionOptions();
        using var session = new InferenceSession(OnnxSample.ModelPath, sessionOptions);
        using ModelCache<OnnxModel> cache = OnnxSample.CreateCache(OnnxSample.ModelPath);

        Console.WriteLine($"| threads | way | median calls/s | min–max calls/s | median ratio to raw (per round) | bytes per call |");
        Console.WriteLine("|---:|---|---:|---:|---:|---:|");
        foreach (int threads in (int[])[1, 2])
        {
            RawInputs[] inputs = [.. Enumerable.Range(0, threads).Select(static _ => new RawInputs())];
            Func<int, float>[] calls =
            [
                thread => inputs[thread].Run(session),
                thread =>
                {
                    using ModelLease<OnnxModel> lease = cache.Acquire();
                    return inputs[thread].Run(lease.Model.Session);
                },
                _ => TypedCall(cache),
            ];

            var throughput = new List<double>[Ways.Length];
            var ratios = new List<double>[Ways.Length];
            var bytes = new List<double>[Ways.Length];
            for (int way = 0; way < Ways.Length; way++)
            {
                throughput[way] = [];
                ratios[way] = [];
                bytes[way] = [];
                Measure(calls[way], threads, 0.3); // warm-up: tiering, ONNX Runtime's arenas
            }

            for (int round = 0; round < rounds; round++)
            {
                var thisRound = new double[Ways.Length];
                for (int step = 0; step < Ways.Length; step++)
                {
                    int way = (round + step) % Ways.Length;
                    (double perSecond, double perCall) = Measure(calls[way], threads, seconds);
                    thisRound[way] = perSecond;
                    throughput[way].Add(perSecond);
                    bytes[way].Add(perCall);
                }

                for (int way = 0; way < Ways.Length; way++)
                {
                    ratios[way].Add(thisRound[0] / thisRound[way]);
                }
            }

            for (int way = 0; way < Ways.Length; way++)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {threads} | {Ways[way]} | {Median(throughput[way]):N0} | {throughput[way].Min():N0}–{throughput[way].Max():N0} | {Median(ratios[way]):F3}× time | {Median(bytes[way]):F0} |"));
            }

            foreach (RawInputs input in inputs)
            {
                input.Dispose();
            }
        }

        return Task.FromResult(0);
    }

    private static float TypedCall(IModelCache<OnnxModel> cache)
    {
        using OnnxInference inference = cache.Rent();
        inference.SetString("Label", OnnxSample.Label);
        OnnxSample.Features.CopyTo(inference.Input<float>("Features"));
        inference.Run();
        return inference.Output<float>("Score.onnx")[0];
    }

    private static (double PerSecond, double BytesPerCall) Measure(Func<int, float> call, int threads, double seconds)
    {
        long total = 0;
        var stop = new ManualResetEventSlim();
        var ready = new Barrier(threads + 1);
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int thread = t;
            workers[t] = new Thread(() =>
            {
                long count = 0;
                float sink = 0;
                ready.SignalAndWait();
                while (!stop.IsSet)
                {
                    for (int i = 0; i < 64; i++)
                    {
                        sink += call(thread);
                    }

                    count += 64;
                }

                Interlocked.Add(ref total, count + (sink == float.MaxValue ? 1 : 0));
            })
            { IsBackground = true };
            workers[t].Start();
        }

        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        ready.SignalAndWait();
        long started = Stopwatch.GetTimestamp();
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        stop.Set();
        foreach (Thread worker in workers)
        {
            worker.Join();
        }

        double elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        ready.Dispose();
        stop.Dispose();
        return (total / elapsed, total == 0 ? 0 : (double)allocated / total);
    }

    private static double Median(List<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
