using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.ML;
using ModelCaching.ML.Compatibility;

namespace ModelCaching.Benchmarks.Prediction;

/// <summary>
/// <c>--harness prediction-throughput [seconds per measurement] [rounds]</c>: iris.zip predictions per second on
/// 1 and 2 threads, each way of serving measured for whole seconds (BenchmarkDotNet's short runs of a 200 ns call
/// are within the machine's noise). Ways are interleaved round by round, so a burst of load from other processes
/// hits them alike; the table gives each way's best and median round as a ratio of one raw engine per thread in the
/// same round, and the drop-in pool's cost over the native pool in nanoseconds per call. The order of the ways
/// rotates each round and garbage is collected before each measurement. Calls are counted per second of each
/// thread's own CPU time (CLOCK_THREAD_CPUTIME_ID on Linux), not of wall time: on a shared machine with many
/// more runnable threads than cores, the time a thread spends waiting for a core would otherwise dominate.
/// </summary>
public sealed class PredictionThroughputHarness : IHarness
{
    private const string ModelName = "iris";

    /// <inheritdoc />
    public string Name => "prediction-throughput";

    /// <inheritdoc />
    public async Task<int> RunAsync(string[] args)
    {
        double seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 1;
        int rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        var context = new MLContext(seed: 1);
        using var cache = new ModelCache<ITransformer>(ModelName, new ModelOptions<ITransformer> { Source = new FileModelSource(IrisData.ModelPath), Loader = new MLNetModelLoader(context) });
        ITransformer model = await cache.GetModelAsync();
        using var pool = new PredictionPool<IrisData, IrisPrediction>(cache, context);

        var services = new ServiceCollection();
        services.Configure<MLOptions>(o => o.MLContext = context);
        services.AddPredictionEnginePool<IrisData, IrisPrediction>().FromFile(ModelName, IrisData.ModelPath, watchForChanges: false);
        await using ServiceProvider provider = services.BuildServiceProvider();
        PredictionEnginePool<IrisData, IrisPrediction> compat = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();
        var extensionsPool = new ExtensionsMLStylePool(context, ModelName, model);
        IrisData input = IrisData.Virginica;

        Console.WriteLine($"prediction-throughput: iris.zip, {seconds:0.##} s per measurement, {rounds} rounds, {Environment.ProcessorCount} cores, {DateTime.UtcNow:u}");
        Console.WriteLine();
        Console.WriteLine("| threads | way | best round (ratio of raw) | median round (ratio of raw) | median CPU ns per call per thread |");
        Console.WriteLine("|---:|---|---:|---:|---:|");
        foreach (int threads in new[] { 1, 2 })
        {
            // Raw engines as the pool builds them (not owning the model); owning or not makes no difference to speed.
            PredictionEngine<IrisData, IrisPrediction>[] raw = [.. Enumerable.Range(0, threads).Select(_ => context.Model.CreatePredictionEngine<IrisData, IrisPrediction>(model, new PredictionEngineOptions { OwnsTransformer = false }))];
            extensionsPool.Prime(ModelName, threads);
            (string Name, Func<int, Func<long>> Loop)[] ways =
            [
                ("raw engine per thread, Predict(input)", t => Loop(() => raw[t].Predict(input))),
                ("raw engine per thread, Predict(input, ref output)", t => LoopInto((ref IrisPrediction o) => raw[t].Predict(input, ref o))),
                ("PredictionPool.Predict(input)", _ => Loop(() => pool.Predict(input))),
                ("raw engine per thread + the cache hit every pooled call pays (GetModel())", t => Loop(() =>
                {
                    cache.GetModel();
                    return raw[t].Predict(input);
                })),
                ("PredictionPool.Predict(input, ref output)", _ => LoopInto((ref IrisPrediction o) => pool.Predict(input, ref o))),
                ("compatibility PredictionEnginePool.Predict(name, input)", _ => Loop(() => compat.Predict(ModelName, input))),
                ("ObjectPool + ConditionalWeakTable (Microsoft.Extensions.ML's way)", _ => Loop(() => extensionsPool.Predict(ModelName, input))),
            ];

            // Warm-up round (JIT, tiering, engines created), not reported.
            foreach ((string _, Func<int, Func<long>> loop) in ways)
            {
                ThreadThroughput.Measure(threads, loop, Math.Min(seconds, 0.5));
            }

            double[][] perWay = [.. ways.Select(_ => new double[rounds])];
            double[] rawRounds = new double[rounds];
            for (int round = 0; round < rounds; round++)
            {
                // The order rotates each round, so no way always follows the one whose garbage is heaviest.
                for (int k = 0; k < ways.Length; k++)
                {
                    int w = (k + round) % ways.Length;
                    perWay[w][round] = ThreadThroughput.Measure(threads, ways[w].Loop, seconds);
                }

                rawRounds[round] = perWay[0][round];
            }

            for (int w = 0; w < ways.Length; w++)
            {
                double[] ratios = [.. perWay[w].Select((ops, r) => ops / rawRounds[r]).Order()];
                double medianOps = perWay[w].Order().ElementAt(rounds / 2);
                Console.WriteLine($"| {threads} | {ways[w].Name} | {ratios[^1]:0.00}× | {ratios[rounds / 2]:0.00}× | {1e9 / medianOps:0.0} |");
            }

            double[] dropInNs = [.. Enumerable.Range(0, rounds).Select(r => (1e9 / perWay[5][r]) - (1e9 / perWay[2][r])).Order()];
            Console.WriteLine($"| {threads} | drop-in minus native pool, ns per call (median of rounds; min..max) | {dropInNs[rounds / 2]:0.0} | {dropInNs[0]:0.0}..{dropInNs[^1]:0.0} | |");
            foreach (PredictionEngine<IrisData, IrisPrediction> engine in raw)
            {
                engine.Dispose();
            }
        }

        return 0;
    }

    private delegate void PredictInto(ref IrisPrediction output);

    // A loop per thread that counts calls until told to stop; the stop flag is read every 64 calls.

    private static Func<long> Loop(Func<IrisPrediction> predict) => () =>
    {
        long calls = 0;
        IrisPrediction? last = null;
        while (!ThreadThroughput.Stopping)
        {
            for (int i = 0; i < 64; i++)
            {
                last = predict();
            }

            calls += 64;
        }

        GC.KeepAlive(last);
        return calls;
    };

    private static Func<long> LoopInto(PredictInto predict) => () =>
    {
        long calls = 0;
        var output = new IrisPrediction();
        while (!ThreadThroughput.Stopping)
        {
            for (int i = 0; i < 64; i++)
            {
                predict(ref output);
            }

            calls += 64;
        }

        GC.KeepAlive(output);
        return calls;
    };
}
