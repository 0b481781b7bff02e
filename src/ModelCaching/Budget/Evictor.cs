namespace ModelCaching.Budget;

/// <summary>
/// Runs a budget's evictions outside its lock: the victims a load's planning chose (on the loading thread), and the
/// background trim that makes room ahead of need once evictions leave bytes draining.
/// </summary>
/// <remarks>
/// <para>
/// Each victim is evicted through its <see cref="BudgetMember.Evict"/> with no lock held; the outcome is recorded under
/// the budget's lock, which this part shares with the others of its budget.
/// </para>
/// <para>
/// Room ahead of need: once an eviction leaves bytes draining (disposable models with a drain delay, or leases), a miss
/// would wait for them. From then on, after each load (<see cref="ScheduleTrimLocked"/>), the budget evicts on the thread
/// pool, lowest value first, until <see cref="MemoryBudget.Headroom"/> bytes are free, so the next miss reserves at once
/// and the evicted bytes drain while nobody waits for them.
/// </para>
/// </remarks>
internal sealed class Evictor(Lock gate, BudgetAccount account, EvictionPlanner planner, WaitQueue waiters, LoadStatistics loads, RecentLoads recentLoads)
{
    // Set once an eviction left bytes draining: from then on the trim keeps room ahead of need.
    private bool _evictionsDrain;
    private bool _trimScheduled;

    /// <summary>Whether a background trim is scheduled or running. Under the budget's lock.</summary>
    public bool Trimming => _trimScheduled;

    /// <summary>
    /// Outside the lock: evicts each victim (its bytes then drain or are released), counts what was evicted, and adds the
    /// evicted ones to <paramref name="evicted"/> when given. Wakes the first waiting load once done.
    /// </summary>
    /// <returns>How many victims unloaded a generation.</returns>
    public int EvictAll(List<BudgetMember> victims, List<BudgetMember>? evicted = null)
    {
        int count = 0;
        foreach (BudgetMember victim in victims)
        {
            bool done = victim.Evict();
            lock (gate)
            {
                planner.EndEviction(victim, done);
                if (done)
                {
                    count++;
                    account.CountEviction();
                    if (evicted is not null && !evicted.Contains(victim))
                    {
                        evicted.Add(victim);
                    }
                }
            }
        }

        lock (gate)
        {
            // Bytes still held right after an eviction drain (a drain delay, leases): misses would wait for them, so room
            // is made ahead of need from now on.
            if (count > 0 && account.Draining > 0)
            {
                _evictionsDrain = true;
            }

            waiters.SignalFirst();
        }

        return count;
    }

    /// <summary>Under the budget's lock, after a load: starts the background trim when evictions drain and the headroom is not free.</summary>
    public void ScheduleTrimLocked()
    {
        if (!_evictionsDrain || _trimScheduled || OverHeadroom() <= 0)
        {
            return;
        }

        _trimScheduled = true;
        ThreadPool.UnsafeQueueUserWorkItem(static evictor => evictor.Trim(), this, preferLocal: false);
    }

    // Under the lock: the bytes resident or reserved beyond what leaves the headroom free. Bytes already draining are on
    // their way out: counting them would evict one model after another while the first drains, down to none.
    private long OverHeadroom() =>
        account.Resident + account.Reserved - (account.Limit - MemoryBudget.Headroom(account.Limit, loads.Largest, recentLoads.Bytes));

    // In the background: evicts the lowest-valued models until the headroom is free once draining bytes are released.
    // Degraded models are never evicted ahead of need.
    private void Trim()
    {
        try
        {
            while (true)
            {
                List<BudgetMember>? evict;
                lock (gate)
                {
                    long over = OverHeadroom();
                    if (over <= 0)
                    {
                        return;
                    }

                    evict = planner.PlanTrim(over);
                }

                if (evict is null || EvictAll(evict) == 0)
                {
                    return;
                }
            }
        }
        finally
        {
            lock (gate)
            {
                _trimScheduled = false;
            }
        }
    }
}
