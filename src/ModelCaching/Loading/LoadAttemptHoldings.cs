using ModelCaching.Budget;

namespace ModelCaching.Loading;

/// <summary>
/// What a <see cref="LoadAttempt{TModel}"/> holds for its thread: its load slot, its memory reservation, and its place in
/// the process's count of abandoned threads. Abandonment and the thread's end give each back exactly once, whichever
/// comes first; the finishing load takes the reservation to charge or cancel it.
/// </summary>
internal sealed class LoadAttemptHoldings(ModelLoadLimiter limiter)
{
    private readonly Lock _gate = new();
    private bool _holdsSlot;
    private bool _countedAbandoned;
    private bool _ended;
    private bool _givenBack;
    private MemoryBudget? _budget;
    private MemoryBudget.Reservation? _reservation;

    /// <summary>The slot is held (<see langword="true"/>) or was handed back before the thread started (<see langword="false"/>).</summary>
    public void SetHoldsSlot(bool holds)
    {
        lock (_gate)
        {
            _holdsSlot = holds;
        }
    }

    /// <summary>Holds <paramref name="reservation"/>; <see langword="false"/> once the holdings were given back (the caller cancels it then).</summary>
    public bool TryHold(MemoryBudget budget, MemoryBudget.Reservation reservation)
    {
        lock (_gate)
        {
            if (_givenBack)
            {
                return false;
            }

            _budget = budget;
            _reservation = reservation;
            return true;
        }
    }

    /// <summary>The reservation held, now the caller's; <see langword="null"/> when there is none or it was given back.</summary>
    public MemoryBudget.Reservation? TakeReservation()
    {
        lock (_gate)
        {
            MemoryBudget.Reservation? reservation = _reservation;
            _reservation = null;
            return reservation;
        }
    }

    /// <summary>
    /// Just abandoned while its thread runs: gives back the reservation, and counts the thread and gives back the slot,
    /// unless the process's cap of abandoned threads is reached (then the slot is kept until the thread ends, bounding
    /// the threads).
    /// </summary>
    public void GiveBack()
    {
        bool releaseSlot = false;
        MemoryBudget? budget;
        MemoryBudget.Reservation? reservation;
        lock (_gate)
        {
            _givenBack = true;
            budget = _budget;
            reservation = _reservation;
            _reservation = null;
            if (!_ended && _holdsSlot && limiter.AbandonedThreads.TryAdd())
            {
                _countedAbandoned = true;
                _holdsSlot = false;
                releaseSlot = true;
            }
        }

        if (reservation is not null)
        {
            budget!.Cancel(reservation);
        }

        if (releaseSlot)
        {
            limiter.Release();
        }
    }

    /// <summary>The thread ended: it leaves the abandoned count and gives back the slot if it still holds it.</summary>
    public void OnThreadEnded()
    {
        bool releaseSlot;
        bool counted;
        lock (_gate)
        {
            _ended = true;
            releaseSlot = _holdsSlot;
            counted = _countedAbandoned;
            _holdsSlot = false;
            _countedAbandoned = false;
        }

        if (counted)
        {
            limiter.AbandonedThreads.Remove();
        }

        if (releaseSlot)
        {
            limiter.Release();
        }
    }
}
