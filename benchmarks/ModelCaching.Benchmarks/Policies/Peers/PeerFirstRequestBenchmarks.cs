using BenchmarkDotNet.Attributes;
using Microsoft.ML;

namespace ModelCaching.Benchmarks.Policies.Peers;

/// <summary>
/// The first request after start, per peer, on taxi-fare.zip: each iteration builds the peer (eager peers load here,
/// outside the measurement, as in host start-up) and times its first hit. Baseline: loading the file directly.
/// One call per iteration (<c>[IterationSetup]</c> makes BenchmarkDotNet use InvocationCount = 1), so a first request that is already a hit shows the timer's floor (about a microsecond).
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet derives from benchmark classes.</remarks>
[MemoryDiagnoser]
[Config(typeof(InProcessShortConfig))]
public class PeerFirstRequestBenchmarks
{
    private readonly MLContext _ml = new(seed: 0);
    private IHotReloadingModel? _peer;

    public static IEnumerable<string> Peers => PeerSet.Selected;

    [ParamsSource(nameof(Peers))]
    public string Peer { get; set; } = "";

    [IterationSetup]
    public void Create() => _peer = PeerSet.CreateAsync(Peer, PeerSet.CopyModel(), TimeSpan.FromHours(1)).GetAwaiter().GetResult();

    [IterationCleanup]
    public void Dispose()
    {
        _peer?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _peer = null;
    }

    [Benchmark(Baseline = true, Description = "MLContext.Model.Load(file)")]
    public ITransformer LoadDirectly() => _ml.Model.Load(TaxiFareModel.FilePath, out _);

    [Benchmark(Description = "first request")]
    public object FirstRequest() => _peer!.Hit();
}
