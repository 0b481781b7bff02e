namespace ModelCaching.Tests.Loading;

/// <summary><see cref="ModelLoadLimiter"/> on its own: slots, and waiting loads started first come, first served.</summary>
public sealed class ModelLoadLimiterTests
{
    [Fact]
    public void Loads_run_at_once_while_slots_are_free()
    {
        var limiter = new ModelLoadLimiter(2);
        var started = new List<string>();

        limiter.Enter(new DelegateSlotWaiter(() => { started.Add("a"); return true; }));
        limiter.Enter(new DelegateSlotWaiter(() => { started.Add("b"); return true; }));

        Assert.Equal(["a", "b"], started);
        Assert.Equal(2, limiter.Running);
        Assert.Equal(0, limiter.Queued);
    }

    [Fact]
    public void Waiting_loads_start_in_the_order_they_arrived_as_slots_are_released()
    {
        var limiter = new ModelLoadLimiter(1);
        var started = new List<string>();

        limiter.Enter(new DelegateSlotWaiter(() => { started.Add("a"); return true; }));
        limiter.Enter(new DelegateSlotWaiter(() => { started.Add("b"); return true; }));
        limiter.Enter(new DelegateSlotWaiter(() => { started.Add("c"); return true; }));
        limiter.Enter(new DelegateSlotWaiter(() => { started.Add("d"); return true; }));

        Assert.Equal(["a"], started);
        Assert.Equal(1, limiter.Running);
        Assert.Equal(3, limiter.Queued);

        limiter.Release();
        Assert.Equal(["a", "b"], started);
        Assert.Equal(1, limiter.Running);
        Assert.Equal(2, limiter.Queued);

        limiter.Release();
        limiter.Release();
        Assert.Equal(["a", "b", "c", "d"], started);
        Assert.Equal(0, limiter.Queued);

        limiter.Release();
        Assert.Equal(0, limiter.Running);
    }

    [Fact]
    public void A_released_slot_goes_to_a_new_load_when_none_waits()
    {
        var limiter = new ModelLoadLimiter(1);
        int started = 0;
        limiter.Enter(new DelegateSlotWaiter(() => { started++; return true; }));
        limiter.Release();

        limiter.Enter(new DelegateSlotWaiter(() => { started++; return true; }));

        Assert.Equal(2, started);
        Assert.Equal(1, limiter.Running);
    }

    [Fact]
    public void Unlimited_never_queues()
    {
        int started = 0;
        for (int i = 0; i < 100; i++)
        {
            ModelLoadLimiter.Unlimited.Enter(new DelegateSlotWaiter(() => { started++; return true; }));
        }

        Assert.Equal(100, started);
        Assert.Equal(0, ModelLoadLimiter.Unlimited.Queued);

        for (int i = 0; i < 100; i++)
        {
            ModelLoadLimiter.Unlimited.Release();
        }
    }

    [Fact]
    public void Zero_slots_is_rejected()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new ModelLoadLimiter(0));

        Assert.Equal("maxConcurrentLoads", error.ParamName);
        Assert.Contains("must be greater than or equal to '1'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Slots_hold_with_loads_entering_and_releasing_from_every_core_at_once()
    {
        const int Slots = 2;
        var limiter = new ModelLoadLimiter(Slots);
        int threads = Math.Max(4, Environment.ProcessorCount * 2);
        const int PerThread = 2_000;
        int running = 0;
        int overLimit = 0;
        int timedOut = 0;

        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ =>
        {
            using var slot = new ManualResetEventSlim();
            for (int i = 0; i < PerThread; i++)
            {
                slot.Reset();

                // The start action only signals: the load then runs on this thread, like a load thread would.
                limiter.Enter(new DelegateSlotWaiter(() => { slot.Set(); return true; }));
                if (!slot.Wait(TimeSpan.FromSeconds(30)))
                {
                    Interlocked.Increment(ref timedOut);
                    return;
                }

                if (Interlocked.Increment(ref running) > Slots)
                {
                    Interlocked.Increment(ref overLimit);
                }

                Interlocked.Decrement(ref running);
                limiter.Release();
            }
        });

        Assert.Equal(0, timedOut);
        Assert.Equal(0, overLimit);
        Assert.Equal(0, limiter.Running);
        Assert.Equal(0, limiter.Queued);
    }
}
