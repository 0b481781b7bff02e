using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.ML;
using ModelCaching.ML.Compatibility;

namespace ModelCaching.OutsideBenchmarks;

/// <summary>
/// <c>loop [seconds] [rounds] [tasks|threads|main]</c>: the throughput loop a user writes. For 1 and 2 threads, each
/// round runs both ways for <c>seconds</c> each, in alternating order, on thread-pool threads (<c>Task.Run</c>, the
/// default: the threads live on between measurements, as in a server), on new threads (<c>threads</c>), or with the
/// 1-thread measurements on the program's main thread and the 2-thread ones on new threads (<c>main</c>: the main
/// thread keeps an engine and stays alive, quiet, while the new threads predict): one raw engine per thread (made before the
/// threads start), <c>PredictionEnginePool.Predict(name, input)</c> and the native <c>PredictionPool.Predict(input)</c>
/// from every thread, the three in a rotating order. No warm-up round: the
/// first round is reported like the others. Prints predictions per second per thread by wall time and by each
/// thread's own CPU time (on a shared machine the threads wait for a core; CPU time leaves that wait out), and the
/// pools' ratios to raw in each round.
/// </summary>
internal static class ThroughputLoop
{
    private const string ModelName = "iris";
    private const string NativeName = "iris-native";
    private static volatile bool s_stop;
    private static bool s_oneOnMain;

    public static int Run(string[] args)
    {
        double seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 2;
        int rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        string mode = args.Length > 2 ? args[2] : "tasks";
        bool newThreads = mode is "threads" or "main";
        s_oneOnMain = mode == "main";
        var context = new MLContext(seed: 1);
        var services = new ServiceCollection();
        services.Configure<MLOptions>(o => o.MLContext = context);
        services.AddPredictionEnginePool<IrisData, IrisPrediction>().FromFile(ModelName, IrisData.ModelPath, watchForChanges: false);
        services.AddModelCache().AddModel<ITransformer>(NativeName, m => m.FromFile(IrisData.ModelPath).UseMLNet().WithPredictionPool<IrisData, IrisPrediction>());
        using ServiceProvider provider = services.BuildServiceProvider();
        PredictionEnginePool<IrisData, IrisPrediction> pool = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();
        PredictionPool<IrisData, IrisPrediction> native = provider.GetRequiredKeyedService<PredictionPool<IrisData, IrisPrediction>>(NativeName);
        ITransformer model = context.Model.Load(IrisData.ModelPath, out _);
        IrisData input = IrisData.Virginica;

        Console.WriteLine($"outside throughput loop: iris.zip, {seconds:0.##} s per way per round, {rounds} rounds, {mode switch { "main" => "1 thread on the main thread, 2 on new threads", "threads" => "new threads", _ => "Task.Run" }}, {Environment.ProcessorCount} cores, {DateTime.UtcNow:u}");
        Console.WriteLine();
        Console.WriteLine("| threads | round | raw, calls/s per thread (wall; CPU) | pool, calls/s per thread (wall; CPU) | native, calls/s per thread (wall; CPU) | pool ÷ raw (wall) | pool ÷ raw (CPU) | native ÷ raw (wall) | native ÷ raw (CPU) |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (int threads in new[] { 1, 2 })
        {
            PredictionEngine<IrisData, IrisPrediction>[] engines = [.. Enumerable.Range(0, threads).Select(_ => context.Model.CreatePredictionEngine<IrisData, IrisPrediction>(model))];
            List<double>[] ratios = [[], [], [], []];
            for (int round = 0; round < rounds; round++)
            {
                (double Wall, double Cpu) raw = default, pooled = default, nativePooled = default;
                for (int k = 0; k < 3; k++)
                {
                    switch ((k + round) % 3)
                    {
                        case 0:
                            raw = Measure(threads, seconds, newThreads, t => engines[t].Predict(input));
                            break;
                        case 1:
                            pooled = Measure(threads, seconds, newThreads, _ => pool.Predict(ModelName, input));
                            break;
                        default:
                            nativePooled = Measure(threads, seconds, newThreads, _ => native.Predict(input));
                            break;
                    }
                }

                double[] round4 = [pooled.Wall / raw.Wall, pooled.Cpu / raw.Cpu, nativePooled.Wall / raw.Wall, nativePooled.Cpu / raw.Cpu];
                for (int r = 0; r < 4; r++)
                {
                    ratios[r].Add(round4[r]);
                }

                Console.WriteLine($"| {threads} | {round + 1} | {raw.Wall:N0}; {raw.Cpu:N0} | {pooled.Wall:N0}; {pooled.Cpu:N0} | {nativePooled.Wall:N0}; {nativePooled.Cpu:N0} | {round4[0]:0.00}× | {round4[1]:0.00}× | {round4[2]:0.00}× | {round4[3]:0.00}× |");
            }

            Console.WriteLine($"| {threads} | median | | | | {Median(ratios[0]):0.00}× | {Median(ratios[1]):0.00}× | {Median(ratios[2]):0.00}× | {Median(ratios[3]):0.00}× |");
            foreach (PredictionEngine<IrisData, IrisPrediction> engine in engines)
            {
                engine.Dispose();
            }
        }

        return 0;
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    // Runs predict(thread index) on thread-pool threads or new threads for the given seconds; returns calls per second
    // per thread by wall time and by the thread's CPU time.
    private static (double Wall, double Cpu) Measure(int threads, double seconds, bool newThreads, Func<int, IrisPrediction> predict)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        s_stop = false;
        long[] calls = new long[threads * 16];
        long[] cpu = new long[threads * 16];
        double[] wall = new double[threads * 16];
        using var start = new Barrier(threads + 1);
        var workers = new Task[threads];
        for (int t = 0; t < threads; t++)
        {
            int index = t;
            void Work()
            {
                start.SignalAndWait();
                long cpuStart = ThreadCpuNanoseconds();
                long wallStart = Stopwatch.GetTimestamp();
                long n = 0;
                IrisPrediction? last = null;
                while (!s_stop)
                {
                    for (int i = 0; i < 64; i++)
                    {
                        last = predict(index);
                    }

                    n += 64;
                }

                wall[index * 16] = Stopwatch.GetElapsedTime(wallStart).TotalSeconds;
                cpu[index * 16] = ThreadCpuNanoseconds() - cpuStart;
                calls[index * 16] = n;
                GC.KeepAlive(last);
            }

            if (threads == 1 && s_oneOnMain)
            {
                // On this thread: a timer stops it.
                using var timer = new Timer(_ => s_stop = true, null, TimeSpan.FromSeconds(seconds), Timeout.InfiniteTimeSpan);
                start.RemoveParticipant();
                Work();
                return (calls[0] / wall[0], cpu[0] > 0 ? calls[0] / (cpu[0] / 1e9) : calls[0] / wall[0]);
            }

            workers[t] = newThreads ? Task.Factory.StartNew(Work, TaskCreationOptions.LongRunning) : Task.Run(Work);
        }

        start.SignalAndWait();
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        s_stop = true;
        Task.WaitAll(workers);

        double perWall = 0, perCpu = 0;
        for (int t = 0; t < threads; t++)
        {
            perWall += calls[t * 16] / wall[t * 16];
            perCpu += cpu[t * 16] > 0 ? calls[t * 16] / (cpu[t * 16] / 1e9) : calls[t * 16] / wall[t * 16];
        }

        return (perWall / threads, perCpu / threads);
    }

    private static long ThreadCpuNanoseconds()
    {
        const int ClockThreadCpuTimeId = 3;
        return OperatingSystem.IsLinux() && ClockGetTime(ClockThreadCpuTimeId, out TimeSpec now) == 0 ? (now.Seconds * 1_000_000_000) + now.Nanoseconds : 0;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
