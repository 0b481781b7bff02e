using ModelCaching.Loading;

namespace ModelCaching.Budget;

/// <summary>
/// Makes room for a load's reservation in a <see cref="MemoryBudget"/>: while the bytes do not fit, evicts what the
/// <see cref="EvictionPlanner"/> chooses (outside the lock, through the <see cref="Evictor"/>), and when nothing more can
/// be evicted, waits its turn in the <see cref="WaitQueue"/> for a signal.
/// </summary>
/// <remarks>
/// Shares its budget's lock and parts (<paramref name="scope"/> names the budget in messages); holds no state of its own
/// between loads.
/// </remarks>
internal sealed class Reserver(string scope, Lock gate, BudgetAccount account, EvictionPlanner planner, WaitQueue waiters, LoadStatistics loads, Evictor evictor)
{
    /// <summary>
    /// Reserves <paramref name="bytes"/> more (a new reservation, or more for <paramref name="growing"/>, a built model's):
    /// evicts, then waits for a signal, until they fit.
    /// </summary>
    /// <exception cref="ModelBudgetException">The bytes cannot fit (beyond the limit, or beside the cache's own serving version).</exception>
    /// <exception cref="OperationCanceledException">The load timed out, was abandoned, or its cache left the budget.</exception>
    public MemoryBudget.Reservation Acquire(BudgetMember member, long bytes, MemoryBudget.Reservation? growing, CancellationToken cancellationToken, ILoadProgress? progress)
    {
        if (bytes > account.Limit)
        {
            throw MemoryBudget.TooLarge(member.Name, bytes, account.Limit, scope);
        }

        WaitQueue.Waiter? queued = null;

        // The models this load evicted: bytes they still hold draining come free without another eviction, so the load
        // waits for them rather than evicting more models for the same room.
        List<BudgetMember>? evicted = null;
        bool counted = growing is not null;
        bool admitted = true;
        bool decided = false;
        try
        {
            while (true)
            {
                // A load abandoned (timed out, disposed) meanwhile evicts nothing for a model that will never serve.
                cancellationToken.ThrowIfCancellationRequested();
                List<BudgetMember>? evict = null;
                string? waitingFor = null;
                lock (gate)
                {
                    if (!member.Joined)
                    {
                        throw new OperationCanceledException($"The model cache '{member.Name}' left its memory budget (it was disposed).");
                    }

                    // Its own serving generations are never evicted for it: a new version that cannot fit beside them
                    // never will, and waiting at the head of the queue would stop every other load until its timeout.
                    long total = bytes + (growing?.Bytes ?? 0);
                    if (total + member.Held > account.Limit)
                    {
                        throw new ModelBudgetException(member.Name, $"its new version needs {total:N0} bytes beside the {member.Held:N0} its serving version holds, more than the memory budget of {account.Limit:N0} bytes ({scope}); SwapMode UnloadFirst loads it in place of the serving version");
                    }

                    if (!counted)
                    {
                        counted = true;
                        planner.CountCandidate(member, bytes, loads.EstimatedCost(bytes));
                    }

                    // A growing reservation (a built model) goes ahead of the queue: the loads that wait may be waiting for
                    // the very bytes it holds, which it gives up only once it serves (and can be evicted) or fails.
                    if (queued is null ? waiters.IsEmpty || growing is not null : waiters.IsFirst(queued))
                    {
                        if (account.Fits(bytes))
                        {
                            if (growing is null && !decided)
                            {
                                // Judged also when it fits: free room is not handed to a one-hit wonder as an admitted model.
                                admitted = planner.Admits(member);
                            }

                            if (queued is not null)
                            {
                                waiters.Remove(queued);
                            }

                            return account.Reserve(bytes, growing, overdraft: !admitted);
                        }

                        // Growing a reservation is no admission: the model is built, and only its room is missing.
                        long missing = account.Used + bytes - account.Limit - StillDraining(evicted);
                        if (missing > 0)
                        {
                            decided |= growing is null;
                            evict = planner.Plan(member, missing, decideAdmission: growing is null, ref admitted);
                        }
                    }

                    if (evict is null)
                    {
                        queued ??= waiters.Enqueue(ahead: growing is not null);
                        waitingFor = $"waiting for memory: {bytes:N0} bytes wanted, {account.Used:N0} of {account.Limit:N0} in use ({scope}: {account.Draining:N0} draining, {waiters.Count - 1} loads ahead)";
                    }
                }

                if (evict is not null)
                {
                    evictor.EvictAll(evict, evicted ??= []);
                    continue;
                }

                if (progress is not null)
                {
                    progress.Step = waitingFor!;
                }

                // Signalled when memory is released or reserved memory returned, a model starts serving (and so may be
                // evicted) or leaves, an eviction ends, or the load ahead is granted or gives up.
                queued!.Wait(cancellationToken);
            }
        }
        finally
        {
            if (queued is not null)
            {
                lock (gate)
                {
                    waiters.Remove(queued);
                }

                queued.Dispose();
            }
        }
    }

    // Under the lock: the bytes that models evicted by one load still hold draining.
    private static long StillDraining(List<BudgetMember>? evicted)
    {
        long bytes = 0;
        if (evicted is not null)
        {
            foreach (BudgetMember member in evicted)
            {
                bytes += member.Draining;
            }
        }

        return bytes;
    }
}
