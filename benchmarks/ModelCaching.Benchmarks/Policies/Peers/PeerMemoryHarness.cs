using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.ML;

namespace ModelCaching.Benchmarks.Policies.Peers;

/// <summary>
/// <c>--harness peer-memory [rounds] [csv]</c>: the managed heap each peer holds after its model has been idle. Each
/// peer that can expire is given the same idle expiration (<see cref="Idle"/>: MemoryCache's sliding expiration,
/// FusionCache's and HybridCache's duration, ModelCaching's idle timeout); per round, on the real clock: build the
/// peer, make the first request, stay idle for <see cref="IdlePeriod"/> (no call at all), then force a compacting
/// full collection and compare the heap with the heap before the peer was built, and check whether the first
/// model (or engine) is still reachable. Median of the rounds; a CSV row per peer when a path is given.
/// </summary>
public sealed class PeerMemoryHarness : IHarness
{
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan IdlePeriod = TimeSpan.FromSeconds(2.5);

    public string Name => "peer-memory";

    public Task<int> RunAsync(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 3;
        string? csv = args.Length > 1 ? args[1] : null;
        Console.WriteLine($"peer-memory: taxi-fare.zip, {rounds} rounds per peer, idle expiration {Idle.TotalSeconds:0.#} s where the peer has one, idle period {IdlePeriod.TotalSeconds:0.#} s.");

        // JIT and ML.NET's one-time state outside the measurement.
        _ = new MLContext(seed: 0).Model.Load(TaxiFareModel.FilePath, out _);
        _ = Measure(PeerSet.Names[0]);

        var text = new StringBuilder("Peer,HeldAfterFirstRequestKB,HeldAfterIdleKB,ReachableAfterIdle,Rounds\n");
        Console.WriteLine();
        Console.WriteLine("| peer | heap held after the first request | held after the idle period | first model still reachable after idle |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (string peer in PeerSet.Names)
        {
            var samples = new List<(long First, long Idle, bool Reachable)>();
            for (int round = 0; round < rounds; round++)
            {
                samples.Add(Measure(peer));
            }

            double first = Median(samples.Select(static s => (double)s.First)) / 1024.0;
            double idle = Median(samples.Select(static s => (double)s.Idle)) / 1024.0;
            int reachable = samples.Count(static s => s.Reachable);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {peer} | {first:N0} KB | {idle:N0} KB | {reachable}/{rounds} |"));
            text.Append(CultureInfo.InvariantCulture, $"\"{peer}\",{first:0.0},{idle:0.0},{reachable},{rounds}\n");
        }

        if (csv is not null)
        {
            File.WriteAllText(csv, text.ToString());
            Console.WriteLine($"Wrote {csv}.");
        }

        return Task.FromResult(0);
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static long Heap()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: false);
    }

    private static (long First, long Idle, bool Reachable) Measure(string peer)
    {
        string path = PeerSet.CopyModel();
        long before = Heap();
        (IHotReloadingModel model, WeakReference first) = Start(peer, path);
        long afterFirst = Heap() - before;
        Thread.Sleep(IdlePeriod);
        long afterIdle = Heap() - before;
        bool reachable = first.IsAlive;
        model.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return (afterFirst, afterIdle, reachable);
    }

    // Not inlined, so no reference to the first model stays in the caller's frame.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (IHotReloadingModel Model, WeakReference First) Start(string peer, string path)
    {
        IHotReloadingModel model = PeerSet.CreateAsync(peer, path, Idle).GetAwaiter().GetResult();
        return (model, new WeakReference(model.Hit()));
    }
}
