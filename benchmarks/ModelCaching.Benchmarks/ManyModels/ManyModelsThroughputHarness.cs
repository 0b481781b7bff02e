using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.Benchmarks.Prediction;
using ModelCaching.ML;
using ModelCaching.ML.Compatibility;

namespace ModelCaching.Benchmarks.ManyModels;

/// <summary>
/// <c>--harness many-models-throughput [seconds per measurement] [rounds] [threads] [Zipf exponent]</c>: pooled iris.zip
/// predictions per second when each call picks one of 100 hot models by name
/// (<see cref="PredictionPoolProvider{TData, TPrediction}.Predict(string, TData)"/>), against the same calls all on one
/// model (issue 11). 100 models registered with <c>AddModel(...).UseMLNet().WithPredictionPool&lt;,&gt;()</c>, each from
/// its own copy of iris.zip, all loaded before measuring. Callers pick uniformly or by Zipf popularity from a sequence
/// made beforehand. Further ways take the cost apart: the pool picked from an array (no name lookup), one model
/// through the pool's shared slots (the thread's kept engine belongs to another model), and raw engines (one per
/// thread and model, no pool). Ways are interleaved round by round and their order rotates, so bursts of load from
/// other processes hit them alike; the table gives each way's best and median round as a ratio of the baseline in
/// the same round. The same 100 models made from a template (<c>tenant-000</c> …) are measured too when
/// <see cref="PredictionPoolProvider{TData, TPrediction}"/> serves template names.
/// </summary>
public sealed class ManyModelsThroughputHarness : IHarness
{
    private const int ModelCount = 100;

    private string[] _names = [];
    private string[] _templateNames = [];
    private PredictionPoolProvider<IrisData, IrisPrediction> _provider = null!;
    private PredictionPool<IrisData, IrisPrediction>[] _pools = [];
    private PredictionEngine<IrisData, IrisPrediction>[][] _raw = [];
    private readonly IrisData _input = IrisData.Virginica;

    /// <inheritdoc />
    public string Name => "many-models-throughput";

    /// <inheritdoc />
    public async Task<int> RunAsync(string[] args)
    {
        double seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 1;
        int rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        int threads = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2;
        double exponent = args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 1.0;

        // Each model its own file, as a template's models/{name}.zip would be.
        string folder = Path.Combine(Path.GetTempPath(), $"modelcaching-many-models-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        try
        {
            _names = [.. Enumerable.Range(0, ModelCount).Select(static i => $"iris-{i:000}")];
            var context = new MLContext(seed: 1);
            var services = new ServiceCollection();
            services.Configure<MLOptions>(o => o.MLContext = context);
            IModelCacheBuilder builder = services.AddModelCache();
            foreach (string name in _names)
            {
                string path = Path.Combine(folder, name + ".zip");
                File.Copy(IrisData.ModelPath, path);
                builder.AddModel<ITransformer>(name, m => m.FromFile(path).UseMLNet().WithPredictionPool<IrisData, IrisPrediction>());
            }

            // The same 100 models again, made from a template on first use (tenant-000 … tenant-099).
            _templateNames = [.. Enumerable.Range(0, ModelCount).Select(static i => $"tenant-{i:000}")];
            foreach (string name in _templateNames)
            {
                File.Copy(IrisData.ModelPath, Path.Combine(folder, name + ".zip"));
            }

            builder.AddModelTemplate<ITransformer>(
                "tenants",
                t => t.FromFile(Path.Combine(folder, "{name}.zip")).UseMLNet().WithPredictionPool<IrisData, IrisPrediction>(),
                static o => o.NamePrefix = "tenant-");

            await using ServiceProvider provider = services.BuildServiceProvider();
            _provider = provider.GetRequiredService<PredictionPoolProvider<IrisData, IrisPrediction>>();
            IModelCacheProvider caches = provider.GetRequiredService<IModelCacheProvider>();

            // Loads every model (the first Predict of each) and checks every one answers as iris.zip does.
            _pools = new PredictionPool<IrisData, IrisPrediction>[ModelCount];
            for (int m = 0; m < ModelCount; m++)
            {
                Require(_provider.Predict(_names[m], _input).PredictedLabel == 2f, _names[m]);
                _pools[m] = _provider.GetPool(_names[m]);
            }

            // PredictionPoolProvider serves template names once ModelCaching.ML supports pools for templates; until then
            // the template ways are left out.
            bool templates = ServesTemplates();
            if (templates)
            {
                foreach (string name in _templateNames)
                {
                    Require(_provider.Predict(name, _input).PredictedLabel == 2f, name);
                }
            }

            // Raw engines as the pool builds them (not owning the model), one per thread and model.
            var notOwning = new PredictionEngineOptions { OwnsTransformer = false };
            _raw = [.. Enumerable.Range(0, threads).Select(_ => _names.Select(n => context.Model.CreatePredictionEngine<IrisData, IrisPrediction>(caches.GetCache<ITransformer>(n).GetModel(), notOwning)).ToArray())];

            byte[][] one = [.. Enumerable.Range(0, threads).Select(static _ => ModelPicks.One())];
            byte[][] uniform = [.. Enumerable.Range(0, threads).Select(static t => ModelPicks.Uniform(ModelCount, seed: 100 + t))];
            byte[][] zipf = [.. Enumerable.Range(0, threads).Select(t => ModelPicks.Zipf(ModelCount, exponent, seed: 200 + t))];
            (string Name, Func<int, long> Loop)[] ways =
            [
                ("1 model, `Predict(name, input)` (baseline)", t => ByName(_names, one[t])),
                ("100 models uniform, `Predict(name, input)`", t => ByName(_names, uniform[t])),
                ($"100 models Zipf({exponent:0.0#}), `Predict(name, input)`", t => ByName(_names, zipf[t])),
                ("1 model, pool from an array (no name lookup)", t => ByPool(one[t])),
                ("100 models uniform, pool from an array (no name lookup)", t => ByPool(uniform[t])),
                ("1 model, through the shared slots (the thread's kept engine is another model's)", t => BySlots(one[t])),
                ("raw engine per thread, 1 model", t => Raw(_raw[t], one[t])),
                ("raw engines per thread, 100 models uniform", t => Raw(_raw[t], uniform[t])),
                .. templates
                    ? (IEnumerable<(string, Func<int, long>)>)
                    [
                        ("template: 1 model, `Predict(name, input)`", t => ByName(_templateNames, one[t])),
                        ("template: 100 models uniform, `Predict(name, input)`", t => ByName(_templateNames, uniform[t])),
                    ]
                    : [],
            ];

            Console.WriteLine($"many-models-throughput: {ModelCount} iris.zip models, {threads} threads, {seconds:0.##} s per measurement, {rounds} rounds, {Environment.ProcessorCount} cores, {DateTime.UtcNow:u}");
            Console.WriteLine($"Zipf({exponent:0.0#}): the most used model takes {ModelPicks.TopShare(zipf[0]):P1} of the calls, {ModelPicks.Distinct(zipf[0])} of {ModelCount} models used; uniform: {ModelPicks.TopShare(uniform[0]):P1}, {ModelPicks.Distinct(uniform[0])} used.");
            Console.WriteLine(templates ? "Template models: measured." : "Template models: not measured (PredictionPoolProvider does not serve template names in this build).");
            Console.WriteLine();

            // Warm-up round (JIT, tiering, engines created in every pool for these threads), not reported.
            foreach ((string _, Func<int, long> loop) in ways)
            {
                ThreadThroughput.Measure(threads, loop, Math.Min(seconds, 0.5));
            }

            double[][] perWay = [.. ways.Select(_ => new double[rounds])];
            long[] enginesCreated = new long[ways.Length];
            for (int round = 0; round < rounds; round++)
            {
                for (int k = 0; k < ways.Length; k++)
                {
                    int w = (k + round) % ways.Length;
                    long created = EnginesCreated();
                    perWay[w][round] = ThreadThroughput.Measure(threads, ways[w].Loop, seconds);
                    enginesCreated[w] += EnginesCreated() - created;
                }
            }

            Console.WriteLine("| way | best round (ratio of baseline) | median round (ratio of baseline) | median CPU ns per call per thread | each round's CPU ns per call | pool engines created in all rounds |");
            Console.WriteLine("|---|---:|---:|---:|---|---:|");
            for (int w = 0; w < ways.Length; w++)
            {
                double[] ratios = [.. perWay[w].Select((ops, r) => ops / perWay[0][r]).Order()];
                Console.WriteLine($"| {ways[w].Name} | {ratios[^1]:0.00}× | {ratios[rounds / 2]:0.00}× | {1e9 / Median(perWay[w]):0.0} | {string.Join(", ", perWay[w].Select(static ops => (1e9 / ops).ToString("0", CultureInfo.InvariantCulture)))} | {enginesCreated[w]:N0} |");
            }

            Console.WriteLine();
            Console.WriteLine("| where the difference goes (ns per call, median of rounds; min..max) | ns |");
            Console.WriteLine("|---|---:|");
            Difference("100 models uniform by name − 1 model by name (the whole difference)", perWay, 1, 0);
            Difference("100 models Zipf by name − 1 model by name", perWay, 2, 0);
            Difference("name lookup, 1 model (by name − pool from an array)", perWay, 0, 3);
            Difference("name lookup, 100 models uniform (by name − pool from an array)", perWay, 1, 4);
            Difference("the kept engine serves one model per thread (shared slots − kept engine, 1 model)", perWay, 5, 3);
            Difference("100 models' working sets, pooled (100 models from an array − 1 model through the slots)", perWay, 4, 5);
            Difference("100 models' working sets, raw engines (100 − 1)", perWay, 7, 6);
            if (templates)
            {
                Difference("template − registered, 1 model by name", perWay, 8, 0);
                Difference("template − registered, 100 models uniform by name", perWay, 9, 1);
            }

            foreach (PredictionEngine<IrisData, IrisPrediction> engine in _raw.SelectMany(static e => e))
            {
                engine.Dispose();
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        return 0;
    }

    private static void Difference(string what, double[][] perWay, int slower, int faster)
    {
        double[] ns = [.. perWay[slower].Select((ops, r) => (1e9 / ops) - (1e9 / perWay[faster][r])).Order()];
        Console.WriteLine($"| {what} | {ns[ns.Length / 2]:0.0} ({ns[0]:0.0}..{ns[^1]:0.0}) |");
    }

    // Engines the pools built (regular and extra): each costs far more than a prediction, so a way that builds them
    // while measured is not measuring predictions.
    private long EnginesCreated()
    {
        long created = 0;
        foreach (PredictionPool<IrisData, IrisPrediction> pool in _pools)
        {
            PredictionPoolStatistics statistics = pool.GetStatistics();
            created += statistics.EnginesCreated + statistics.ExtraEnginesCreated;
        }

        return created;
    }

    private static double Median(double[] values) => values.Order().ElementAt(values.Length / 2);

    private bool ServesTemplates()
    {
        try
        {
            _provider.Predict(_templateNames[0], _input);
            return true;
        }
        catch (KeyNotFoundException)
        {
            return false;
        }
    }

    private long ByName(string[] names, byte[] picks)
    {
        PredictionPoolProvider<IrisData, IrisPrediction> provider = _provider;
        IrisData input = _input;
        IrisPrediction? last = null;
        long calls = 0;
        int i = 0;
        while (!ThreadThroughput.Stopping)
        {
            for (int k = 0; k < 64; k++)
            {
                last = provider.Predict(names[picks[i]], input);
                i = (i + 1) & ModelPicks.Mask;
            }

            calls += 64;
        }

        GC.KeepAlive(last);
        return calls;
    }

    private long ByPool(byte[] picks)
    {
        PredictionPool<IrisData, IrisPrediction>[] pools = _pools;
        IrisData input = _input;
        IrisPrediction? last = null;
        long calls = 0;
        int i = 0;
        while (!ThreadThroughput.Stopping)
        {
            for (int k = 0; k < 64; k++)
            {
                last = pools[picks[i]].Predict(input);
                i = (i + 1) & ModelPicks.Mask;
            }

            calls += 64;
        }

        GC.KeepAlive(last);
        return calls;
    }

    // A thread keeps an engine of one pool only (the first that had one to spare): predicting once with model 1 first
    // makes every later call on model 0 take an engine from model 0's shared slots, as most calls across many models do.
    // The calls repeat past the 256 misses after which a pool takes back the kept engines of ended threads (those of
    // earlier measurements), so that this thread surely keeps model 1's engine.
    private long BySlots(byte[] picks)
    {
        for (int i = 0; i < 1_000; i++)
        {
            _pools[1].Predict(_input);
        }

        return ByPool(picks);
    }

    private long Raw(PredictionEngine<IrisData, IrisPrediction>[] engines, byte[] picks)
    {
        IrisData input = _input;
        IrisPrediction? last = null;
        long calls = 0;
        int i = 0;
        while (!ThreadThroughput.Stopping)
        {
            for (int k = 0; k < 64; k++)
            {
                last = engines[picks[i]].Predict(input);
                i = (i + 1) & ModelPicks.Mask;
            }

            calls += 64;
        }

        GC.KeepAlive(last);
        return calls;
    }

    private static void Require(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"The {what} prediction is wrong; the harness would compare different work.");
        }
    }
}
