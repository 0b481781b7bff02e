using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.ML;
using ModelCaching.ML.Compatibility;

namespace ModelCaching.OutsideBenchmarks;

/// <summary>
/// <c>blocks [--calls N] [--blocks N]</c>: a probe for a busy machine, at 1 thread. The same loops as <c>loop</c>, run in
/// short blocks (256 calls, ~30 µs) taking turns: raw, a second raw engine (the control), compatible, native. Each block
/// is timed by the wall clock; a block that another process interrupted is an outlier, and the median block of each way
/// leaves it out. Prints each way's median nanoseconds per call and its ratio to raw (calls per second ÷ raw's).
/// </summary>
internal static partial class ThroughputLoop
{
    public static int RunBlocks(string[] args)
    {
        int calls = 256, blocks = 20_000;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--calls": calls = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--blocks": blocks = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"Unknown option {args[i]}; use --calls, --blocks.");
            }
        }

        calls = Math.Max(64, calls / 64 * 64);
        var context = new MLContext(seed: 1);
        var services = new ServiceCollection();
        services.Configure<MLOptions>(o => o.MLContext = context);
        services.AddPredictionEnginePool<IrisData, IrisPrediction>().FromFile(ModelName, IrisData.ModelPath, watchForChanges: false);
        services.AddModelCache().AddModel<ITransformer>(NativeName, m => m.FromFile(IrisData.ModelPath).UseMLNet().WithPredictionPool<IrisData, IrisPrediction>());
        using ServiceProvider provider = services.BuildServiceProvider();
        PredictionEnginePool<IrisData, IrisPrediction> pool = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();
        PredictionPool<IrisData, IrisPrediction> native = provider.GetRequiredKeyedService<PredictionPool<IrisData, IrisPrediction>>(NativeName);
        ITransformer model = context.Model.Load(IrisData.ModelPath, out _);
        using PredictionEngine<IrisData, IrisPrediction> raw = context.Model.CreatePredictionEngine<IrisData, IrisPrediction>(model);
        using PredictionEngine<IrisData, IrisPrediction> control = context.Model.CreatePredictionEngine<IrisData, IrisPrediction>(model);
        IrisData input = IrisData.Virginica;
        string[] names = ["raw", "raw again", "compatible", "native"];
        double[][] perCall = [.. names.Select(_ => new double[blocks])];
        bool stop = true;

        // Warm-up: tier-1 code for every loop, and this thread's kept engine in each pool.
        for (int way = 0; way < names.Length; way++)
        {
            Run(way, WarmupCalls);
        }

        for (int b = 0; b < blocks; b++)
        {
            for (int k = 0; k < names.Length; k++)
            {
                int way = (k + b) % names.Length;
                long started = Stopwatch.GetTimestamp();
                Run(way, calls);
                perCall[way][b] = Stopwatch.GetElapsedTime(started).TotalNanoseconds / calls;
            }
        }

        double rawMedian = Median([.. perCall[0]]);
        Console.WriteLine($"blocks: iris.zip, 1 thread, {blocks:N0} blocks of {calls} calls per way in turn, {Environment.ProcessorCount} cores, load {LoadAverage()}, {DateTime.UtcNow:u}");
        for (int way = 0; way < names.Length; way++)
        {
            double median = Median([.. perCall[way]]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{names[way],-10} median {median,7:0.00} ns/call  ratio to raw {rawMedian / median:0.000}  (+{median - rawMedian:0.00} ns)"));
        }

        return 0;

        long Run(int way, long minimumCalls) => way switch
        {
            0 => Loop(new RawWay(raw, input), ref stop, minimumCalls),
            1 => Loop(new RawWay(control, input), ref stop, minimumCalls),
            2 => Loop(new CompatibleWay(pool, input), ref stop, minimumCalls),
            _ => Loop(new NativeWay(native, input), ref stop, minimumCalls),
        };
    }

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
