namespace ModelCaching.Budget;

/// <summary>
/// Loads waiting for memory, first come, first served. Each waits on its own signal, released when the one at the head
/// should look again (memory released, a model serving or leaving, an eviction ending, the load ahead granted or gone):
/// a waiting load never polls.
/// </summary>
/// <remarks>
/// Single-threaded by contract: the budget changes it under its lock. Only <see cref="Waiter.Wait"/> runs outside it.
/// Hand-written over a <see cref="LinkedList{T}"/> of semaphores: a load that gives up leaves from the middle in O(1),
/// and a load that grows a built model's reservation goes to the head.
/// </remarks>
internal sealed class WaitQueue
{
    private readonly LinkedList<Waiter> _waiters = new();

    public int Count => _waiters.Count;

    public bool IsEmpty => _waiters.Count == 0;

    /// <summary>Queues a new waiter at the back, or at the head when <paramref name="ahead"/>.</summary>
    public Waiter Enqueue(bool ahead = false)
    {
        var waiter = new Waiter();
        waiter.Node = ahead ? _waiters.AddFirst(waiter) : _waiters.AddLast(waiter);
        return waiter;
    }

    public bool IsFirst(Waiter waiter) => ReferenceEquals(_waiters.First, waiter.Node);

    /// <summary>Takes <paramref name="waiter"/> out of the queue (idempotent) and wakes the new head.</summary>
    public void Remove(Waiter waiter)
    {
        if (waiter.Node is { List: not null } node)
        {
            _waiters.Remove(node);
            SignalFirst();
        }
    }

    /// <summary>Wakes the load at the head, unless it is awake already.</summary>
    public void SignalFirst()
    {
        if (_waiters.First is { } first)
        {
            first.Value.Signal();
        }
    }

    /// <summary>One waiting load.</summary>
    internal sealed class Waiter : IDisposable
    {
        private readonly SemaphoreSlim _signal = new(0);

        internal LinkedListNode<Waiter>? Node { get; set; }

        /// <summary>Whether a signal is pending.</summary>
        public bool Signalled => _signal.CurrentCount > 0;

        /// <summary>Blocks until signalled (outside the budget's lock).</summary>
        /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
        public void Wait(CancellationToken cancellationToken) => _signal.Wait(cancellationToken);

        public void Dispose() => _signal.Dispose();

        // Under the budget's lock, so the count read and the release do not race another signal.
        internal void Signal()
        {
            if (_signal.CurrentCount == 0)
            {
                _signal.Release();
            }
        }
    }
}
