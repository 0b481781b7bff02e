using ModelCaching.Generations;

namespace ModelCaching;

/// <summary>
/// Pins one loaded generation of a model: until the lease is disposed, that generation is not disposed,
/// even if a reload has swapped it out. A struct so that taking a lease allocates nothing. Disposing it more than once
/// (or disposing a copy of it, also from two threads at the same instant) is safe: exactly one <see cref="Dispose"/>
/// ends the lease, the others do nothing (they do not throw) and never release another holder's pin.
/// </summary>
public readonly struct ModelLease<TModel> : IDisposable
    where TModel : class
{
    private readonly ModelGeneration<TModel>? _generation;
    private readonly LeaseTicket? _ticket;
    private readonly int _stamp;

    internal ModelLease(ModelGeneration<TModel> generation)
    {
        _generation = generation;
        LeaseTicket ticket = LeaseTicket.Rent();
        _ticket = ticket;
        _stamp = ticket.Stamp;
    }

    /// <summary>The pinned model.</summary>
    /// <exception cref="InvalidOperationException">The lease is <see langword="default"/>.</exception>
    /// <exception cref="ObjectDisposedException">The lease ended: the model is no longer pinned and may be disposed.</exception>
    public TModel Model => Pinned().Model;

    /// <summary>The version of the pinned generation.</summary>
    /// <exception cref="InvalidOperationException">The lease is <see langword="default"/>.</exception>
    /// <exception cref="ObjectDisposedException">The lease ended.</exception>
    public ModelVersion Version => Pinned().Version;

    /// <summary>
    /// Ends the lease. When it was the last one on a swapped-out generation, that generation is disposed. A second call
    /// (on this lease or a copy of it, after this one or racing it on another thread) does nothing.
    /// </summary>
    public void Dispose()
    {
        // The ticket's stamp lets exactly one Dispose through (one compare-and-swap), whichever copy of the lease makes it.
        if (_ticket is not null && _ticket.TryEnd(_stamp))
        {
            _generation!.Release();
        }
    }

    // One read: a lease (or a copy of it) whose Dispose has run no longer pins its generation, which a reload or an
    // eviction may dispose at any moment; its ticket's stamp has moved on (or serves another lease by now).
    private ModelGeneration<TModel> Pinned()
    {
        ModelGeneration<TModel> generation = _generation ?? ThrowDefault();
        return _ticket!.Stamp == _stamp ? generation : ThrowEnded();
    }

    private static ModelGeneration<TModel> ThrowEnded() =>
        throw new ObjectDisposedException(nameof(ModelLease<TModel>), "This lease ended: its model is no longer pinned and may be disposed. Take another lease with IModelCache<TModel>.Acquire().");

    private static ModelGeneration<TModel> ThrowDefault() =>
        throw new InvalidOperationException("This ModelLease is default: it pins no model. Take leases with IModelCache<TModel>.Acquire().");
}
