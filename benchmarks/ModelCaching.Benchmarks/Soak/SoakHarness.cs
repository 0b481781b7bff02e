using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using Microsoft.ML;
using ModelCaching.Benchmarks.ReloadUnderLoad;
using ModelCaching.ML;

namespace ModelCaching.Benchmarks.Soak;

/// <summary>
/// <c>--harness soak</c>: 10,000 explicit reloads (<see cref="ModelCache{TModel}.ReloadAsync(CancellationToken)"/> over a stream source)
/// that alternate at random between valid versions of iris.zip and bad files (empty, an HTML page, random bytes, a
/// truncated zip, a damaged part, a model of another schema, an ONNX file, a zip bomb), while every core predicts
/// through a <see cref="PredictionPool{TData,TPrediction}"/>. Counts failures, which must be 0: a failed or wrong
/// prediction, a valid file that did not load, a bad file that did, a failure that is not a
/// <see cref="ModelLoadException"/> naming the model, or a bad file after which the last good version is not serving.
/// Reports memory (GC heap after a full collection, working set), threads, live engines and ML.NET's temporary files
/// at the start, right after the last reload, and once retired generations have drained.
/// </summary>
/// <remarks>
/// Options: <c>--reloads N</c> (10000), <c>--bad-ratio R</c> (0.5), <c>--threads N</c> (cores), <c>--seed N</c> (1),
/// <c>--drain-delay-seconds S</c> (the default <see cref="ModelOptions.DrainDelay"/>, 10).
/// </remarks>
public sealed class SoakHarness : IHarness
{
    private const string ModelName = "iris";

    private volatile bool _stop;

    public string Name => "soak";

    public async Task<int> RunAsync(string[] args)
    {
        int reloads = Option(args, "--reloads", 10_000);
        double badRatio = Option(args, "--bad-ratio", 0.5);
        int threads = Option(args, "--threads", Environment.ProcessorCount);
        int seed = Option(args, "--seed", 1);
        double drainSeconds = Option(args, "--drain-delay-seconds", 10.0);

        // ML.NET extracts every model part it reads to a temporary file: a folder of our own shows whether any stay behind.
        string temp = Path.Combine(Path.GetTempPath(), "modelcaching-soak-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(temp);
        Environment.SetEnvironmentVariable("TMPDIR", temp);

        string models = Path.Combine(AppContext.BaseDirectory, "TestModels");
        byte[] iris = await File.ReadAllBytesAsync(Path.Combine(models, "iris.zip"));
        byte[][] valid = [.. Enumerable.Range(0, 64).Select(i => WithEntry(iris, "Soak\\version.txt", BitConverter.GetBytes(i)))];
        string[] validIds = [.. valid.Select(static v => Convert.ToHexStringLower(SHA256.HashData(v)))];
        (string Kind, byte[] Bytes)[] bad = BadFiles(iris, models);

        var source = new SoakSource(valid[0]);
        var context = new MLContext(seed: 1);
        var options = new ModelOptions<ITransformer>
        {
            Source = new StreamModelSource(source.OpenAsync, "soak-stream"),
            Loader = new MLNetModelLoader(context),
            RetryBaseDelay = TimeSpan.Zero,
            DrainDelay = TimeSpan.FromSeconds(drainSeconds),
        };

        // What a service registers: the schema check (taxi-fare.zip must be refused) and a warm-up prediction.
        options.Validators.Add(PredictionSchema.CreateValidator<ReloadIrisData, ReloadIrisPrediction>(context, ModelName));
        options.WarmUps.Add((model, _) =>
        {
            using PredictionEngine<ReloadIrisData, ReloadIrisPrediction> engine = context.Model.CreatePredictionEngine<ReloadIrisData, ReloadIrisPrediction>(model);
            engine.Predict(ReloadIrisData.Setosa);
            return ValueTask.CompletedTask;
        });

        await using var cache = new ModelCache<ITransformer>(ModelName, options);
        using var pool = new PredictionPool<ReloadIrisData, ReloadIrisPrediction>(cache, context);
        await cache.GetModelAsync();

        var workers = new Worker[threads];
        var workerThreads = new Thread[threads];
        for (int i = 0; i < threads; i++)
        {
            workers[i] = new Worker(this, pool);
            workerThreads[i] = new Thread(workers[i].Run) { IsBackground = true, Name = $"soak-predict-{i}" };
            workerThreads[i].Start();
        }

        // A second of predictions so that engines exist and code is jitted before the start figures.
        await Task.Delay(TimeSpan.FromSeconds(1));
        Snapshot start = Snapshot.Take(temp, pool);
        Console.WriteLine($"soak: {reloads:N0} reloads ({badRatio:P0} bad) through ReloadAsync on a stream source, {threads} prediction threads on {Environment.ProcessorCount} cores, seed {seed}, drain delay {drainSeconds:0.#} s.");

        var random = new Random(seed);
        var reloadFailures = new List<string>();
        var badCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        int loaded = 0;
        int nextValid = 1;
        string lastGood = validIds[0];
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < reloads; i++)
        {
            bool isBad = random.NextDouble() < badRatio;
            (string kind, byte[] bytes) = isBad ? bad[random.Next(bad.Length)] : ("valid", valid[nextValid]);
            source.Content = bytes;
            try
            {
                ModelVersion version = await cache.ReloadAsync();
                if (isBad)
                {
                    reloadFailures.Add($"#{i}: the bad file '{kind}' loaded as {version.Id}");
                }
                else if (version.Id != validIds[nextValid])
                {
                    reloadFailures.Add($"#{i}: a valid file loaded as {version.Id}, expected {validIds[nextValid]}");
                }
                else
                {
                    loaded++;
                    lastGood = version.Id;
                }
            }
            catch (ModelLoadException ex) when (isBad && ex.ModelName == ModelName)
            {
                badCounts[kind] = badCounts.GetValueOrDefault(kind) + 1;
                if (cache.Version?.Id != lastGood)
                {
                    reloadFailures.Add($"#{i}: after the bad file '{kind}', {cache.Version?.Id ?? "nothing"} serves instead of the last good {lastGood}");
                }
            }
            catch (Exception ex)
            {
                reloadFailures.Add($"#{i}: {kind}: {ex.GetType().Name}: {ex.Message}");
            }

            if (!isBad)
            {
                nextValid = (nextValid + 1) % valid.Length;
            }

            if ((i + 1) % 1000 == 0)
            {
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"   {i + 1,6:N0} reloads in {clock.Elapsed.TotalSeconds,5:0} s ({(i + 1) / clock.Elapsed.TotalSeconds:0} /s): {reloadFailures.Count} reload failures, {workers.Sum(static w => w.Failed)} failed predictions, working set {Environment.WorkingSet / (1024 * 1024):N0} MiB"));
            }
        }

        TimeSpan elapsed = clock.Elapsed;
        _stop = true;
        foreach (Thread thread in workerThreads)
        {
            thread.Join();
        }

        Snapshot end = Snapshot.Take(temp, pool);
        await Task.Delay(TimeSpan.FromSeconds(drainSeconds + 2));
        Snapshot drained = Snapshot.Take(temp, pool);

        long predictions = workers.Sum(static w => w.Predictions);
        long failedPredictions = workers.Sum(static w => w.Failed);
        var failureKinds = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        foreach (Worker worker in workers)
        {
            foreach ((string kind, long count) in worker.FailureKinds)
            {
                failureKinds.AddOrUpdate(kind, count, (_, c) => c + count);
            }
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{reloads:N0} reloads in {elapsed.TotalSeconds:0} s ({reloads / elapsed.TotalSeconds:0} /s): {loaded:N0} valid loaded, {badCounts.Values.Sum():N0} bad rejected ({string.Join(", ", badCounts.OrderBy(static b => b.Key, StringComparer.Ordinal).Select(static b => $"{b.Key} {b.Value:N0}"))})."));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{predictions:N0} predictions on {threads} threads ({predictions / elapsed.TotalSeconds:N0} /s)."));
        Console.WriteLine();
        Console.WriteLine("| | GC heap after full GC (MiB) | working set (MiB) | threads | live engines | ML.NET temp files |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        start.Row("start (after 1 s of predictions)");
        end.Row("after the last reload");
        drained.Row($"after the drain delay (+{drainSeconds + 2:0} s)");
        Console.WriteLine();
        Console.WriteLine($"Failures: {reloadFailures.Count} reloads, {failedPredictions} predictions (budget 0 each).");
        foreach ((string kind, long count) in failureKinds)
        {
            Console.WriteLine($"   prediction failure: {count:N0} × {kind}");
        }

        foreach (string failure in reloadFailures.Take(20))
        {
            Console.WriteLine($"   reload failure {failure}");
        }

        Console.WriteLine(reloadFailures.Count == 0 && failedPredictions == 0 ? "Within budget." : "OUT OF BUDGET.");

        try
        {
            Directory.Delete(temp, recursive: true);
        }
        catch (IOException)
        {
        }

        return reloadFailures.Count == 0 && failedPredictions == 0 ? 0 : 1;
    }

    private static (string Kind, byte[] Bytes)[] BadFiles(byte[] iris, string models)
    {
        var random = new Random(7);
        var noise = new byte[4096];
        random.NextBytes(noise);
        noise[0] = 0x50;
        noise[1] = 0x4B;
        noise[2] = 0x03;
        noise[3] = 0x04;
        return
        [
            ("empty", []),
            ("html", "<!DOCTYPE html><html><body>502 Bad Gateway</body></html>"u8.ToArray()),
            ("random", noise),
            ("truncated", iris[..(iris.Length / 2)]),
            ("damaged-part", ZeroPart(iris, "TransformerChain\\Transform_002\\Transform_000\\Model\\Model.key")),
            ("other-schema", File.ReadAllBytes(Path.Combine(models, "taxi-fare.zip"))),
            ("onnx", File.ReadAllBytes(Path.Combine(models, "breast-cancer-multiclass.onnx"))),
            ("zip-bomb", WithEntry(iris, "Bomb\\zeros.bin", new byte[96 * 1024 * 1024])),
        ];
    }

    private static byte[] ZeroPart(byte[] zip, string entryName) => Rewrite(zip, (name, content) =>
    {
        if (name == entryName)
        {
            // Keep ML.NET's 256-byte part header, zero the part's data.
            Array.Clear(content, 256, content.Length - 256);
        }

        return content;
    }, extra: null);

    private static byte[] WithEntry(byte[] zip, string name, byte[] content) => Rewrite(zip, static (_, c) => c, (name, content));

    private static byte[] Rewrite(byte[] zip, Func<string, byte[], byte[]> change, (string Name, byte[] Content)? extra)
    {
        using var output = new MemoryStream();
        using (var source = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read))
        using (var target = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (ZipArchiveEntry entry in source.Entries)
            {
                using var content = new MemoryStream();
                using (Stream stream = entry.Open())
                {
                    stream.CopyTo(content);
                }

                using Stream written = target.CreateEntry(entry.FullName).Open();
                written.Write(change(entry.FullName, content.ToArray()));
            }

            if (extra is { } added)
            {
                using Stream written = target.CreateEntry(added.Name, CompressionLevel.SmallestSize).Open();
                written.Write(added.Content);
            }
        }

        return output.ToArray();
    }

    private static T Option<T>(string[] args, string name, T fallback)
        where T : IParsable<T>
    {
        int index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? T.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
    }

    /// <summary>The bytes the next reload reads, as a fresh stream per fetch.</summary>
    private sealed class SoakSource(byte[] initial)
    {
        private volatile byte[] _content = initial;

        public byte[] Content
        {
            set => _content = value;
        }

        public ValueTask<Stream> OpenAsync(CancellationToken cancellationToken) => new(new MemoryStream(_content, writable: false));
    }

    private readonly record struct Snapshot(long HeapBytes, long WorkingSetBytes, int Threads, long LiveEngines, int TempFiles)
    {
        public static Snapshot Take(string temp, PredictionPool<ReloadIrisData, ReloadIrisPrediction> pool)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            long heap = GC.GetTotalMemory(forceFullCollection: true);
            using var process = Process.GetCurrentProcess();
            return new Snapshot(heap, process.WorkingSet64, process.Threads.Count, pool.GetStatistics().LiveEngines, Directory.EnumerateFiles(temp, "*", SearchOption.AllDirectories).Count());
        }

        public void Row(string name) => Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"| {name} | {HeapBytes / 1048576.0:0.0} | {WorkingSetBytes / 1048576.0:0} | {Threads} | {LiveEngines} | {TempFiles} |"));
    }

    private sealed class Worker(SoakHarness harness, PredictionPool<ReloadIrisData, ReloadIrisPrediction> pool)
    {
        public long Predictions;
        public long Failed;
        public readonly Dictionary<string, long> FailureKinds = new(StringComparer.Ordinal);

        public void Run()
        {
            ReloadIrisData input = ReloadIrisData.Virginica;
            var output = new ReloadIrisPrediction();
            while (!harness._stop)
            {
                string? failure;
                try
                {
                    pool.Predict(input, ref output);
                    failure = output.PredictedLabel == 2f ? null : $"wrong label {output.PredictedLabel}";
                }
                catch (Exception ex)
                {
                    failure = $"{ex.GetType().Name}: {ex.Message}";
                }

                Predictions++;
                if (failure is not null)
                {
                    Failed++;
                    FailureKinds[failure] = FailureKinds.GetValueOrDefault(failure) + 1;
                }
            }
        }
    }
}
