namespace ModelCaching.Budget;

/// <summary>
/// The bytes a <see cref="MemoryBudget"/> counts against its limit: resident (serving generations), draining (retired
/// generations that leases or the drain delay still hold) and reserved (loads in progress); and the evictions made.
/// Each cache's share is kept on its <see cref="BudgetMember"/>.
/// </summary>
/// <remarks>Single-threaded by contract: the budget calls it under its lock.</remarks>
internal sealed class BudgetAccount(long limit)
{
    public long Limit => limit;

    public long Resident { get; private set; }

    public long Draining { get; private set; }

    public long Reserved { get; private set; }

    public long Evictions { get; private set; }

    public long Used => Resident + Draining + Reserved;

    /// <summary>Whether <paramref name="bytes"/> more fit under the limit now.</summary>
    public bool Fits(long bytes) => Used + bytes <= limit;

    /// <summary>Reserves <paramref name="bytes"/> more: in <paramref name="growing"/>, or in a new reservation.</summary>
    public MemoryBudget.Reservation Reserve(long bytes, MemoryBudget.Reservation? growing, bool overdraft)
    {
        Reserved += bytes;
        if (growing is not null)
        {
            growing.Bytes += bytes;
            return growing;
        }

        return new MemoryBudget.Reservation(bytes, overdraft);
    }

    /// <summary>A reservation given back (a load that ended without a model to charge).</summary>
    public void Cancel(MemoryBudget.Reservation reservation)
    {
        Reserved -= reservation.Bytes;
        reservation.Bytes = 0;
    }

    /// <summary>A generation of <paramref name="member"/> serves: its reservation (if any) becomes a charge of <paramref name="bytes"/>.</summary>
    public void Charge(MemoryBudget.Reservation? reservation, long bytes, BudgetMember? member)
    {
        if (reservation is not null)
        {
            Cancel(reservation);
        }

        Resident += bytes;
        member?.AddHeld(bytes);
    }

    /// <summary>A charged generation stopped serving; leases or the drain delay may hold its bytes a while.</summary>
    public void MoveToDraining(long bytes, BudgetMember? member)
    {
        Resident -= bytes;
        Draining += bytes;
        if (member is not null)
        {
            member.AddHeld(-bytes);
            member.Draining += bytes;
        }
    }

    /// <summary>A charged generation was disposed: its bytes are free.</summary>
    public void Release(long bytes, bool draining, BudgetMember? member)
    {
        if (draining)
        {
            Draining -= bytes;
            if (member is not null)
            {
                member.Draining -= bytes;
            }
        }
        else
        {
            Resident -= bytes;
            member?.AddHeld(-bytes);
        }
    }

    public void CountEviction() => Evictions++;

    public MemorySnapshot Snapshot(int waiting) => new(limit, Resident, Draining, Reserved, waiting, Evictions);
}
