using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Primitives;

namespace ModelCaching.Tests.ModelBased.Engine;

/// <summary>A model the world's loader built: it counts its disposals and the leases we hold on it.</summary>
public sealed class MbtModel(MbtWorld world, string name, int version, long trueSize) : IDisposable
{
    private int _disposals;
    private int _leases;

    public string Name { get; } = name;

    public int ContentVersion { get; } = version;

    /// <summary>What the size estimator reports (the content's length times the lie factor at load).</summary>
    public long TrueSize { get; } = trueSize;

    public int Disposals => Volatile.Read(ref _disposals);

    public int Leases => Volatile.Read(ref _leases);

    public void AddLease() => Interlocked.Increment(ref _leases);

    /// <summary>Called before our lease's Dispose, so the library may dispose the model inside it.</summary>
    public void RemoveLease() => Interlocked.Decrement(ref _leases);

    public void Dispose()
    {
        int disposals = Interlocked.Increment(ref _disposals);
        if (disposals > 1)
        {
            world.Violation("disposal", $"{this} was disposed {disposals} times");
        }

        if (Leases > 0)
        {
            world.Violation("disposal", $"{this} was disposed while {Leases} lease(s) of ours held it");
        }
    }

    public override string ToString() => $"{Name} v{ContentVersion} ({TrueSize} B)";
}

/// <summary>
/// The world a run acts on: per name, the source's content (version, size, bad or not), the loader's fault and the size
/// estimator's lie; every model the loader built; the violations found on background threads (disposals).
/// </summary>
public sealed class MbtWorld : IDisposable
{
    private readonly ConcurrentQueue<string> _violations = new();
    private readonly Lock _gate = new();
    private int _loaderCalls;
    private int _loaderReturns;
    private int _fetches;

    public MbtWorld()
    {
        foreach (string name in MbtOp.Names)
        {
            Entries[name] = new Entry(name);
        }
    }

    public Dictionary<string, Entry> Entries { get; } = new(StringComparer.Ordinal);

    public List<MbtModel> Models { get; } = [];

    public int LoaderCalls => Volatile.Read(ref _loaderCalls);

    public int LoaderReturns => Volatile.Read(ref _loaderReturns);

    public int Fetches => Volatile.Read(ref _fetches);

    public int HungLoaders => Entries.Values.Sum(static e => e.HungNow);

    /// <summary>Loader calls running now that are not hung (working, or released and not yet returned).</summary>
    public int RunningLoaders => LoaderCalls - LoaderReturns - HungLoaders;

    /// <summary>Hung loader calls released that have not woken yet.</summary>
    public int WakingLoaders => Entries.Values.Sum(static e => e.Waking);

    public bool HasViolations => !_violations.IsEmpty;

    public void Violation(string invariant, string detail) => _violations.Enqueue($"[{invariant}] {detail}");

    public List<string> TakeViolations()
    {
        var list = new List<string>();
        while (_violations.TryDequeue(out string? v))
        {
            list.Add(v);
        }

        return list;
    }

    public IModelSource SourceFor(string name) => new Source(this, Entries[name]);

    public IModelLoader<MbtModel> Loader => new LoaderImpl(this);

    public long EstimateSize(MbtModel model) => model.TrueSize;

    public MbtModel[] ModelsSnapshot()
    {
        lock (_gate)
        {
            return [.. Models];
        }
    }

    /// <summary>Lets every hung loader return (the end of a run, before the provider is disposed).</summary>
    public void ReleaseAllHung()
    {
        foreach (Entry entry in Entries.Values)
        {
            entry.ReleaseHung();
        }
    }

    public void Dispose() => ReleaseAllHung();

    private MbtModel Load(ModelArtifact artifact, CancellationToken cancellationToken)
    {
        string text = Encoding.UTF8.GetString(artifact.Content.Span);
        string[] parts = text.Split('|');
        Entry entry = Entries[parts[0]];
        int version = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        switch (entry.Fault)
        {
            case MbtFault.OutOfMemory:
                throw new OutOfMemoryException($"mbt: out of memory loading {entry.Name}");
            case MbtFault.IOError:
                throw new IOException($"mbt: I/O error loading {entry.Name}");
            case MbtFault.Hang:
                entry.Hang();
                break;
        }

        if (parts[2] == "bad")
        {
            throw new InvalidDataException($"mbt: corrupt content {entry.Name} v{version}");
        }

        var model = new MbtModel(this, entry.Name, version, (long)(artifact.Length * entry.LieFactor));
        lock (_gate)
        {
            Models.Add(model);
        }

        return model;
    }

    /// <summary>One name's content and behaviour.</summary>
    public sealed class Entry(string name)
    {
        private readonly Lock _gate = new();
        private volatile MbtFault _fault;
        private CancellationTokenSource _changed = new();
        private readonly List<HangGate> _released = [];
        private HangGate _hangGate = new();

        public string Name { get; } = name;

        public int Version { get; private set; } = 1;

        public int Size { get; private set; } = 80;

        public bool Bad { get; private set; }

        public MbtFault Fault
        {
            get => _fault;
            set => _fault = value;
        }

        public double LieFactor { get; set; } = 1;

        /// <summary>Loader calls of this name blocked now (their gate not released).</summary>
        public int HungNow => Volatile.Read(ref _hangGate.Waiters);

        /// <summary>Loader calls whose gate was released but that have not woken yet.</summary>
        public int Waking
        {
            get
            {
                lock (_gate)
                {
                    return _released.Sum(static g => Volatile.Read(ref g.Waiters));
                }
            }
        }

        /// <summary>Content versions a caller was served.</summary>
        public HashSet<int> Served { get; } = [];

        /// <summary>Content hashes of good content (that never failed because of itself), by version.</summary>
        public Dictionary<string, int> GoodHashes { get; } = new(StringComparer.Ordinal);

        public byte[] Content()
        {
            lock (_gate)
            {
                string text = $"{Name}|{Version}|{(Bad ? "bad" : "ok")}|";
                byte[] bytes = Encoding.UTF8.GetBytes(text.PadRight(Size, '.'));
                if (!Bad)
                {
                    GoodHashes[Convert.ToHexStringLower(SHA256.HashData(bytes))] = Version;
                }

                return bytes;
            }
        }

        public void Change(int size, bool bad)
        {
            CancellationTokenSource old;
            lock (_gate)
            {
                Version++;
                Size = size;
                Bad = bad;
                old = _changed;
                _changed = new CancellationTokenSource();
            }

            old.Cancel();
        }

        public IChangeToken ChangeToken()
        {
            lock (_gate)
            {
                return new CancellationChangeToken(_changed.Token);
            }
        }

        public void Hang()
        {
            HangGate gate;
            lock (_gate)
            {
                gate = _hangGate;
                Interlocked.Increment(ref gate.Waiters);
            }

            try
            {
                // Ignores its cancellation token on purpose: the hung callback the issue describes. Bounded so a
                // broken run still ends (the run releases every gate before it disposes the provider).
                gate.Event.Wait(TimeSpan.FromMinutes(2));
            }
            finally
            {
                Interlocked.Decrement(ref gate.Waiters);
            }
        }

        public void ReleaseHung()
        {
            HangGate old;
            lock (_gate)
            {
                if (_fault == MbtFault.Hang)
                {
                    _fault = MbtFault.None;
                }

                old = _hangGate;
                _hangGate = new HangGate();
                _released.RemoveAll(static g => Volatile.Read(ref g.Waiters) == 0);
                _released.Add(old);
            }

            old.Event.Set();
        }

        private sealed class HangGate
        {
            public readonly ManualResetEventSlim Event = new(false);
            public int Waiters;
        }
    }

    private sealed class Source(MbtWorld world, Entry entry) : IModelSource
    {
        public string Description => $"mbt:{entry.Name}";

        public ValueTask<ModelArtifact?> FetchAsync(ModelFetchContext context, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref world._fetches);
            return ValueTask.FromResult<ModelArtifact?>(new ModelArtifact(entry.Content(), Description));
        }

        public IChangeToken? GetChangeToken() => entry.ChangeToken();
    }

    private sealed class LoaderImpl(MbtWorld world) : IModelLoader<MbtModel>
    {
        public ValueTask<MbtModel> LoadAsync(ModelArtifact artifact, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref world._loaderCalls);
            try
            {
                return ValueTask.FromResult(world.Load(artifact, cancellationToken));
            }
            finally
            {
                Interlocked.Increment(ref world._loaderReturns);
            }
        }
    }
}
