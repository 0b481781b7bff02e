using BenchmarkDotNet.Attributes;

namespace ModelCaching.Benchmarks.Policies.Peers;

/// <summary>
/// The hit of every peer on taxi-fare.zip, steady and while its hot-reload code reloads back to back on another
/// thread (each reload a real one: the file alternates between two versions). The hit goes through the same
/// interface call for every peer (<see cref="IHotReloadingModel.Hit"/>), and <see cref="LazyValue"/>, measured beside
/// each, is the one baseline. For a pool a hit is a rent and a return of an engine.
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet derives from benchmark classes.</remarks>
[MemoryDiagnoser]
[Config(typeof(InProcessShortConfig))]
public class PeerHitBenchmarks
{
    private readonly Lazy<object> _lazy = new(static () => new object());
    private IHotReloadingModel _peer = null!;
    private Thread? _reloader;
    private volatile bool _stop;
    private long _reloads;
    private string _path = "";

    /// <summary>Every peer, or those named in the environment variable <c>MC_PEERS</c> (comma-separated), to re-run a few.</summary>
    public static IEnumerable<string> Peers => PeerSet.Selected;

    [ParamsSource(nameof(Peers))]
    public string Peer { get; set; } = "";

    [Params(false, true)]
    public bool Reloading { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _ = _lazy.Value;
        _path = PeerSet.CopyModel();
        _peer = await PeerSet.CreateAsync(Peer, _path, TimeSpan.FromHours(1));
        _ = _peer.Hit();
        if (Reloading)
        {
            _reloader = new Thread(ReloadLoop) { IsBackground = true, Name = "peer reloads" };
            _reloader.Start();
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _stop = true;
        _reloader?.Join();
        Console.WriteLine($"// {Peer}, reloading {Reloading}: {Interlocked.Read(ref _reloads)} reloads during the run.");
        await _peer.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "Lazy<T>.Value")]
    public object LazyValue() => _lazy.Value;

    [Benchmark(Description = "peer hit")]
    public object Hit() => _peer.Hit();

    private void ReloadLoop()
    {
        int version = 0;
        while (!_stop)
        {
            PeerSet.NextVersion(_path, ref version);
            _peer.Reload();
            Interlocked.Increment(ref _reloads);
        }
    }
}
