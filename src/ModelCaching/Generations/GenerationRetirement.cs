namespace ModelCaching.Generations;

/// <summary>
/// The swapped-out generations of one cache until they are disposed. A disposable model first waits out
/// <see cref="ModelOptions.DrainDelay"/> for callers that took it from <c>GetModel()</c> without a lease; one generation at
/// most waits so: when another is swapped out, the one waiting is retired at once (disposed as soon as its leases end),
/// so a burst of reloads of a large model never holds a copy per reload. Leases always pin their generation.
/// </summary>
/// <remarks>
/// Most models never swap a generation out, so their slot makes it at the first retirement (and its lists with it); it
/// locks on itself (it is never handed out) rather than on a lock object of its own. The slot, which its generations
/// tell of their disposal, passes that on (<see cref="Forget"/>): no callback delegate.
/// </remarks>
internal sealed class GenerationRetirement<TModel>
    where TModel : class
{
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _drainDelay;
    private List<ModelGeneration<TModel>>? _retired;
    private List<Drain>? _draining;
    private bool _closed;

    public GenerationRetirement(TimeProvider timeProvider, TimeSpan drainDelay)
    {
        _timeProvider = timeProvider;
        _drainDelay = drainDelay;
    }

    /// <summary>Swapped-out generations not yet disposed.</summary>
    public int Count
    {
        get
        {
            lock (this)
            {
                _retired?.RemoveAll(static generation => generation.IsDisposed);
                return _retired?.Count ?? 0;
            }
        }
    }

    /// <summary>Leases alive on swapped-out generations.</summary>
    public long ActiveLeases
    {
        get
        {
            long count = 0;
            lock (this)
            {
                _retired?.RemoveAll(static generation => generation.IsDisposed);
                foreach (ModelGeneration<TModel> generation in _retired ?? [])
                {
                    count += generation.ActiveLeases;
                }
            }

            return count;
        }
    }

    /// <summary>Drops the cache's reference on a swapped-out generation, after the drain delay for disposable models.</summary>
    /// <param name="generation">The generation that stopped serving.</param>
    /// <param name="drainDelay">A shorter drain delay than the cache's (an eviction's), or <see langword="null"/> for the cache's.</param>
    public void Retire(ModelGeneration<TModel>? generation, TimeSpan? drainDelay = null)
    {
        if (generation is null)
        {
            return;
        }

        generation.StopServing();
        bool disposable = generation.Model is IDisposable or IAsyncDisposable;
        TimeSpan delay = drainDelay is { } shorter && shorter < _drainDelay ? shorter : _drainDelay;
        Drain[] cutShort = [];
        lock (this)
        {
            (_retired ??= []).Add(generation);
            if (disposable && delay > TimeSpan.Zero && !_closed)
            {
                _draining ??= [];
                cutShort = [.. _draining];
                _draining.Clear();
                var drain = new Drain(this, generation);
                drain.Timer = _timeProvider.CreateTimer(static state => ((Drain)state!).Fire(), drain, delay, Timeout.InfiniteTimeSpan);
                _draining.Add(drain);
                generation = null;
            }
        }

        foreach (Drain older in cutShort)
        {
            older.Timer?.Dispose();
            older.Generation.Retire();
        }

        generation?.Retire();
    }

    /// <summary>At disposal: no more drain delays; every swapped-out generation is retired now (leases still pin theirs).</summary>
    public void RetireAllNow()
    {
        ModelGeneration<TModel>[] retired;
        lock (this)
        {
            _closed = true;
            foreach (Drain drain in _draining ?? [])
            {
                drain.Timer?.Dispose();
            }

            _draining?.Clear();
            retired = _retired is null ? [] : [.. _retired];
        }

        foreach (ModelGeneration<TModel> generation in retired)
        {
            generation.Retire();
        }
    }

    /// <summary>A generation was disposed: it leaves the list at once, so nothing keeps its model reachable.</summary>
    public void Forget(ModelGeneration<TModel> generation)
    {
        lock (this)
        {
            _retired?.Remove(generation);
        }
    }

    private sealed class Drain(GenerationRetirement<TModel> owner, ModelGeneration<TModel> generation)
    {
        public ITimer? Timer { get; set; }

        public ModelGeneration<TModel> Generation => generation;

        public void Fire()
        {
            lock (owner)
            {
                owner._draining?.Remove(this);
            }

            Timer?.Dispose();
            generation.Retire();
        }
    }
}
