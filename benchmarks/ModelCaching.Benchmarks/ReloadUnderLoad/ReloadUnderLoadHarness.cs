using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using Microsoft.ML;
using ModelCaching.ML;

namespace ModelCaching.Benchmarks.ReloadUnderLoad;

/// <summary>
/// <c>--harness reload-under-load</c>: pooled ML.NET predictions (iris.zip) on every core, first with no reloads
/// (steady), then while the model file is replaced and reloaded in a loop through the full swap pipeline (read,
/// load beside, warm-up, atomic swap, old engines and generation disposed), then steady again. Reports p50/p99
/// latency steady vs during swaps and the number of failed calls. Budget: 0 failures, p99 during swaps ≤ 2×
/// the steady p99 (the lower of the two steady phases, so JIT tiering during the first cannot flatter us).
/// </summary>
/// <remarks>
/// A harness rather than a BenchmarkDotNet benchmark: the question is the latency distribution of calls that
/// overlap a background event, which BenchmarkDotNet's per-iteration means cannot answer.
/// Options: <c>--threads N</c> (default: cores), <c>--warmup-seconds S</c> (3), <c>--steady-seconds S</c> (5 per
/// steady phase), <c>--reload-seconds S</c> (10),
/// <c>--reload-every-ms M</c> (100), <c>--tail-ms M</c> (20: how long after a swap calls still count as "during").
/// </remarks>
public sealed class ReloadUnderLoadHarness : IHarness
{
    public string Name => "reload-under-load";

    // Read by every call; written by the reload loop around each reload.
    private volatile bool _swapping;
    private volatile int _phase; // 0 steady before, 1 reloads, 2 steady after
    private volatile bool _stop;

    // The time series (--csv): calls are put in BucketMs buckets from the end of the warm-up on.
    private const int BucketMs = 10;
    private long _seriesStart;
    private int _buckets;

    public async Task<int> RunAsync(string[] args)
    {
        int threads = Option(args, "--threads", Environment.ProcessorCount);
        double warmupSeconds = Option(args, "--warmup-seconds", 3.0);
        double steadySeconds = Option(args, "--steady-seconds", 5.0);
        double reloadSeconds = Option(args, "--reload-seconds", 10.0);
        int reloadEveryMs = Option(args, "--reload-every-ms", 100);
        int tailMs = Option(args, "--tail-ms", 20);
        int csvIndex = Array.IndexOf(args, "--csv");
        string? csv = csvIndex >= 0 && csvIndex + 1 < args.Length ? args[csvIndex + 1] : null;
        _buckets = (int)(((2 * steadySeconds) + reloadSeconds + 5) * 1000 / BucketMs);
        var swaps = new List<(double StartMs, double EndMs)>();

        string directory = Path.Combine(Path.GetTempPath(), "modelcaching-reload-under-load", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, "iris.zip");
        byte[][] versions = [File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestModels", "iris.zip")), WithExtraEntry(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestModels", "iris.zip")))];
        File.WriteAllBytes(path, versions[0]);

        var context = new MLContext(seed: 1);
        var options = new ModelOptions<ITransformer>
        {
            Source = new FileModelSource(path),
            Loader = new MLNetModelLoader(context),
            RetryBaseDelay = TimeSpan.Zero,
        };

        // The warm-up a service would register: one prediction on the new generation before it serves.
        options.WarmUps.Add((model, _) =>
        {
            using PredictionEngine<ReloadIrisData, ReloadIrisPrediction> engine = context.Model.CreatePredictionEngine<ReloadIrisData, ReloadIrisPrediction>(model);
            engine.Predict(ReloadIrisData.Setosa);
            return ValueTask.CompletedTask;
        });

        // The cache's own timers (drain delay of swapped-out generations) on the real clock.
        await using var cache = new ModelCache<ITransformer>("iris", options);
        using var pool = new PredictionPool<ReloadIrisData, ReloadIrisPrediction>(cache, context);
        await cache.GetModelAsync();

        var workers = new Worker[threads];
        var workerThreads = new Thread[threads];
        for (int i = 0; i < threads; i++)
        {
            workers[i] = new Worker(this, pool);
            workerThreads[i] = new Thread(workers[i].Run) { IsBackground = true, Name = $"predict-{i}" };
        }

        Console.WriteLine($"reload-under-load: {threads} prediction threads on {Environment.ProcessorCount} cores; {warmupSeconds:0.#} s warm-up, {steadySeconds:0.#} s steady, {reloadSeconds:0.#} s with a reload every {reloadEveryMs} ms (\"during\" = reload start to swap + {tailMs} ms), {steadySeconds:0.#} s steady.");
        foreach (Thread thread in workerThreads)
        {
            thread.Start();
        }

        // Warm the JIT and the pool's engines before anything is measured.
        await Task.Delay(TimeSpan.FromSeconds(warmupSeconds));
        foreach (Worker worker in workers)
        {
            worker.ResetRequested = true;
        }

        Volatile.Write(ref _seriesStart, Stopwatch.GetTimestamp());

        await Task.Delay(TimeSpan.FromSeconds(steadySeconds));
        _phase = 1;

        int reloads = 0;
        int reloadFailures = 0;
        var reloadTimes = new LatencyHistogram();
        var phase = Stopwatch.StartNew();
        while (phase.Elapsed.TotalSeconds < reloadSeconds)
        {
            await Task.Delay(reloadEveryMs);
            string temp = path + ".tmp";
            await File.WriteAllBytesAsync(temp, versions[(reloads + 1) % 2]);
            File.Move(temp, path, overwrite: true);

            _swapping = true;
            long started = Stopwatch.GetTimestamp();
            double swapStartMs = Stopwatch.GetElapsedTime(_seriesStart, started).TotalMilliseconds;
            try
            {
                await cache.ReloadAsync();
                reloads++;
            }
            catch (ModelLoadException ex)
            {
                reloadFailures++;
                Console.WriteLine($"reload failed: {ex.Message}");
            }

            reloadTimes.Record((long)Stopwatch.GetElapsedTime(started).TotalNanoseconds);
            await Task.Delay(tailMs);
            _swapping = false;
            swaps.Add((swapStartMs, Stopwatch.GetElapsedTime(_seriesStart).TotalMilliseconds));
        }

        _phase = 2;
        await Task.Delay(TimeSpan.FromSeconds(steadySeconds));
        _stop = true;
        foreach (Thread thread in workerThreads)
        {
            thread.Join();
        }

        var steady = new LatencyHistogram();
        var steadyAfter = new LatencyHistogram();
        var between = new LatencyHistogram();
        var during = new LatencyHistogram();
        long failed = 0;
        foreach (Worker worker in workers)
        {
            steady.Add(worker.Steady);
            steadyAfter.Add(worker.SteadyAfter);
            between.Add(worker.Between);
            during.Add(worker.During);
            failed += worker.Failed;
        }

        PredictionPoolStatistics poolStatistics = pool.GetStatistics();
        Console.WriteLine();
        Console.WriteLine("| calls | count | p50 (µs) | p99 (µs) | p99.9 (µs) | max (µs) | failed |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        Row("steady, before reloads", steady, failed: workers.Sum(static w => w.FailedSteady));
        Row("reload phase, between swaps", between, failed: workers.Sum(static w => w.FailedBetween));
        Row("reload phase, during swaps", during, failed: workers.Sum(static w => w.FailedDuring));
        Row("steady, after reloads", steadyAfter, failed: workers.Sum(static w => w.FailedSteadyAfter));
        Console.WriteLine();
        double ratio = during.Percentile(99) / Math.Min(steady.Percentile(99), steadyAfter.Percentile(99));
        Console.WriteLine($"Reloads: {reloads} ({reloadFailures} failed), each {Micro(reloadTimes.Percentile(50)) / 1000:0.0} ms at the median (read, load, warm-up, swap).");
        Console.WriteLine($"Pool: {poolStatistics}.");
        Console.WriteLine($"Failed calls: {failed} (budget 0). p99 during swaps / steady p99 (the lower of the two steady phases): {ratio:0.00}× (budget ≤ 2×).");
        Console.WriteLine(failed == 0 && ratio <= 2 ? "Within budget." : "OUT OF BUDGET.");

        if (csv is not null)
        {
            WriteSeries(csv, workers, swaps);
            Console.WriteLine($"Wrote {csv}: calls per {BucketMs} ms after the warm-up, mean and max latency, and whether a swap ran.");
        }

        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }

        return failed == 0 ? 0 : 1;
    }

    private static void Row(string name, LatencyHistogram histogram, long failed) =>
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"| {name} | {histogram.Count:N0} | {Micro(histogram.Percentile(50)):0.00} | {Micro(histogram.Percentile(99)):0.00} | {Micro(histogram.Percentile(99.9)):0.00} | {Micro(histogram.MaxNanoseconds):0.0} | {failed} |"));

    private static double Micro(double nanoseconds) => nanoseconds / 1000.0;

    private void WriteSeries(string path, Worker[] workers, List<(double StartMs, double EndMs)> swaps)
    {
        var text = new System.Text.StringBuilder("TimeMs,Calls,MeanUs,MaxUs,Swapping\n");
        for (int bucket = 0; bucket < _buckets; bucket++)
        {
            long calls = 0, sum = 0, max = 0;
            foreach (Worker worker in workers)
            {
                calls += worker.SeriesCalls[bucket];
                sum += worker.SeriesSum[bucket];
                max = Math.Max(max, worker.SeriesMax[bucket]);
            }

            if (calls == 0)
            {
                continue;
            }

            double start = bucket * BucketMs, end = start + BucketMs;
            bool swapping = swaps.Any(s => s.StartMs < end && s.EndMs > start);
            text.Append(CultureInfo.InvariantCulture, $"{start:0},{calls},{Micro(sum / (double)calls):0.000},{Micro(max):0.0},{(swapping ? 1 : 0)}\n");
        }

        File.WriteAllText(path, text.ToString());
    }

    private static T Option<T>(string[] args, string name, T fallback)
        where T : IParsable<T>
    {
        int index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? T.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
    }

    /// <summary>Another valid ML.NET model with other bytes: iris.zip with one more (ignored) entry.</summary>
    private static byte[] WithExtraEntry(byte[] zip)
    {
        using var buffer = new MemoryStream();
        buffer.Write(zip);
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Update, leaveOpen: true))
        {
            using var writer = new StreamWriter(archive.CreateEntry("ReloadUnderLoad/version.txt").Open());
            writer.Write("2");
        }

        return buffer.ToArray();
    }

    private sealed class Worker(ReloadUnderLoadHarness harness, PredictionPool<ReloadIrisData, ReloadIrisPrediction> pool)
    {
        public LatencyHistogram Steady { get; private set; } = new();

        public LatencyHistogram SteadyAfter { get; } = new();

        public LatencyHistogram Between { get; } = new();

        public LatencyHistogram During { get; } = new();

        public long FailedSteady { get; private set; }

        public long FailedBetween { get; private set; }

        public long FailedDuring { get; private set; }

        public long FailedSteadyAfter { get; private set; }

        public long Failed => FailedSteady + FailedBetween + FailedDuring + FailedSteadyAfter;

        public volatile bool ResetRequested;

        // Per-bucket figures for the time series: each worker writes only its own arrays.
        public long[] SeriesCalls { get; } = new long[harness._buckets];

        public long[] SeriesSum { get; } = new long[harness._buckets];

        public long[] SeriesMax { get; } = new long[harness._buckets];

        public void Run()
        {
            ReloadIrisData input = ReloadIrisData.Virginica;
            var output = new ReloadIrisPrediction();
            while (!harness._stop)
            {
                if (ResetRequested)
                {
                    ResetRequested = false;
                    Steady = new LatencyHistogram();
                    FailedSteady = 0;
                }

                int phase = harness._phase;
                bool swapping = harness._swapping;
                long started = Stopwatch.GetTimestamp();
                bool ok = true;
                try
                {
                    pool.Predict(input, ref output);
                    ok = output.PredictedLabel == 2f;
                }
                catch (Exception)
                {
                    ok = false;
                }

                long ended = Stopwatch.GetTimestamp();
                long elapsed = (long)Stopwatch.GetElapsedTime(started, ended).TotalNanoseconds;
                long seriesStart = Volatile.Read(ref harness._seriesStart);
                if (seriesStart != 0)
                {
                    int bucket = (int)(Stopwatch.GetElapsedTime(seriesStart, ended).TotalMilliseconds / BucketMs);
                    if ((uint)bucket < (uint)SeriesCalls.Length)
                    {
                        SeriesCalls[bucket]++;
                        SeriesSum[bucket] += elapsed;
                        SeriesMax[bucket] = Math.Max(SeriesMax[bucket], elapsed);
                    }
                }

                // A call counts as "during a swap" if a reload was running when it started or when it ended.
                swapping |= harness._swapping;
                (phase == 0 ? Steady : phase == 2 ? SteadyAfter : swapping ? During : Between).Record(elapsed);
                if (!ok)
                {
                    switch (phase)
                    {
                        case 0:
                            FailedSteady++;
                            break;
                        case 2:
                            FailedSteadyAfter++;
                            break;
                        default:
                            if (swapping)
                            {
                                FailedDuring++;
                            }
                            else
                            {
                                FailedBetween++;
                            }

                            break;
                    }
                }
            }
        }
    }
}

/// <summary>iris.zip's input (see TestModels/README.md).</summary>
public sealed class ReloadIrisData
{
    public float Label;
    public float SepalLength;
    public float SepalWidth;
    public float PetalLength;
    public float PetalWidth;

    public static ReloadIrisData Setosa => new() { SepalLength = 5.1f, SepalWidth = 3.5f, PetalLength = 1.4f, PetalWidth = 0.2f };

    public static ReloadIrisData Virginica => new() { SepalLength = 6.7f, SepalWidth = 3.0f, PetalLength = 5.2f, PetalWidth = 2.3f };
}

/// <summary>iris.zip's output.</summary>
public sealed class ReloadIrisPrediction
{
    public float[] Score = [];
    public float PredictedLabel;
}
