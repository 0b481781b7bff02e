using System.Runtime.CompilerServices;
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

    // A pinned lease: the row (LeasePins) of the thread that took it, the pin's index and its stamp. A counted lease
    // (one reference on the generation's count): a LeaseTicket.
    private readonly object? _holder;
    private readonly int _stamp;
    private readonly int _pin;

    // A counted lease: the caller took a reference on the generation (ModelGeneration.TryAcquire).
    internal ModelLease(ModelGeneration<TModel> generation)
    {
        _generation = generation;
        _holder = new LeaseTicket();
    }

    // A pinned lease: the caller's pin holds the generation.
    private ModelLease(ModelGeneration<TModel> generation, LeasePins row, int pin, int stamp)
    {
        _generation = generation;
        _holder = row;
        _pin = pin;
        _stamp = stamp;
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
        // The pin's stamp (one compare-and-swap) or the ticket (one exchange) lets exactly one Dispose through, whichever
        // copy of the lease makes it.
        if (_holder is LeasePins row)
        {
            if (row.TryEnd(_pin, _stamp, _generation!.PinId))
            {
                _generation.OnPinEnded();
            }
        }
        else if (_holder is LeaseTicket ticket && ticket.TryEnd())
        {
            _generation!.Release();
        }
    }

    /// <summary>
    /// Takes a lease on <paramref name="generation"/> on a free pin of the calling thread's row (a plain store), or as a
    /// counted lease when the thread holds <see cref="LeasePins.PinsPerRow"/> already. False when the generation was
    /// retired (it no longer serves, and no new lease may pin it): read the serving one again.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool TryTake(ModelGeneration<TModel> generation, out ModelLease<TModel> lease)
    {
        LeasePins? row = LeasePins.OfThisThread;
        if (row is not null)
        {
            ref long pin = ref row.Pin(0);
            long free = Volatile.Read(ref pin);
            if ((uint)free == 0)
            {
                return TryPin(generation, row, 0, free, out lease);
            }
        }

        return TryTakeSlow(generation, out lease);
    }

    // The pin is free and only this thread stores into a free pin of its row: store it, then read the retired flag (the
    // order LeasePins' barrier relies on); a retired generation gets the pin back and no lease.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryPin(ModelGeneration<TModel> generation, LeasePins row, int index, long free, out ModelLease<TModel> lease)
    {
        ref long pin = ref row.Pin(index);
        Volatile.Write(ref pin, free | generation.PinId);
        if (!generation.IsRetired)
        {
            lease = new ModelLease<TModel>(generation, row, index, (int)(free >> 32));
            return true;
        }

        // No lease was made with this stamp, so the pin goes back as it was; the retiring side may have seen it and
        // left the disposal to the pin's end.
        Volatile.Write(ref pin, free);
        generation.OnPinEnded();
        lease = default;
        return false;
    }

    // The thread's first lease, or its first pin is taken: another free pin of its row, else a counted lease.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool TryTakeSlow(ModelGeneration<TModel> generation, out ModelLease<TModel> lease)
    {
        LeasePins row = LeasePins.OfThisThreadSlow();
        for (int i = 0; i < LeasePins.PinsPerRow; i++)
        {
            long free = Volatile.Read(ref row.Pin(i));
            if ((uint)free == 0)
            {
                return TryPin(generation, row, i, free, out lease);
            }
        }

        if (generation.TryAcquire())
        {
            lease = new ModelLease<TModel>(generation);
            return true;
        }

        lease = default;
        return false;
    }

    // One read: a lease (or a copy of it) whose Dispose has run no longer pins its generation, which a reload or an
    // eviction may dispose at any moment; its pin has another stamp (or serves another lease by now).
    private ModelGeneration<TModel> Pinned()
    {
        ModelGeneration<TModel> generation = _generation ?? ThrowDefault();
        bool held = _holder is LeasePins row ? row.IsHeld(_pin, _stamp, generation.PinId) : !((LeaseTicket)_holder!).IsEnded;
        return held ? generation : ThrowEnded();
    }

    private static ModelGeneration<TModel> ThrowEnded() =>
        throw new ObjectDisposedException(nameof(ModelLease<TModel>), "This lease ended: its model is no longer pinned and may be disposed. Take another lease with IModelCache<TModel>.Acquire().");

    private static ModelGeneration<TModel> ThrowDefault() =>
        throw new InvalidOperationException("This ModelLease is default: it pins no model. Take leases with IModelCache<TModel>.Acquire().");
}
