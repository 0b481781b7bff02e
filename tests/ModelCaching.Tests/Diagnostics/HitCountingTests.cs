using ModelCaching.Diagnostics;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Diagnostics;

public sealed class HitCountingTests
{
    private const int HitsPerThread = 100_000;

    [Fact]
    public async Task Hits_OnAllCores_AreCountedExactly_IncludingThreadsThatEnded()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create();
        await cache.GetModelAsync();
        int threadCount = Environment.ProcessorCount * 2;
        int failures = 0;

        // Dedicated threads that all hit at once, then end: their counts must survive them.
        using var start = new Barrier(threadCount);
        Thread[] threads = [.. Enumerable.Range(0, threadCount).Select(_ => new Thread(() =>
        {
            start.SignalAndWait();
            for (int i = 0; i < HitsPerThread; i++)
            {
                if (cache.GetModel() is null)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        }))];
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(Eventually.Timeout), "a hitting thread did not finish");
        }

        long expected = (long)threadCount * HitsPerThread;
        Assert.Equal(0, failures);
        Assert.Equal(expected, cache.GetStatistics().Hits);

        // A second read, after the ended threads' cells were folded into the total, reads the same.
        Assert.Equal(expected, cache.GetStatistics().Hits);
    }

    [Fact]
    public async Task Hits_FromGetModelGetModelAsyncAndAcquire_OnThreadPoolThreads_AreCountedExactly()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create();
        await cache.GetModelAsync();
        const int Workers = 16;
        const int CallsPerWorker = 10_000;

        await Task.WhenAll(Enumerable.Range(0, Workers).Select(worker => Task.Run(async () =>
        {
            for (int i = 0; i < CallsPerWorker; i++)
            {
                switch (i % 3)
                {
                    case 0:
                        _ = cache.GetModel();
                        break;
                    case 1:
                        _ = await cache.GetModelAsync();
                        break;
                    default:
                        using (ModelLease<FakeModel> lease = cache.Acquire())
                        {
                            _ = lease.Model;
                        }

                        break;
                }
            }
        }))).WaitAsync(Eventually.Timeout);

        Assert.Equal(Workers * CallsPerWorker, cache.GetStatistics().Hits);
        Assert.Equal(1, cache.GetStatistics().Misses);
    }

    [Fact]
    public void Sum_WhileThreadsIncrement_NeverGoesDown_AndEndsExact()
    {
        var counter = new StackRegionCounter();
        const int Threads = 4;
        const int PerThread = 200_000;
        Thread[] threads = [.. Enumerable.Range(0, Threads).Select(_ => new Thread(() =>
        {
            for (int i = 0; i < PerThread; i++)
            {
                counter.Increment();
            }
        }))];
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        long previous = 0;
        int decreases = 0;
        while (threads.Any(static t => t.IsAlive))
        {
            long sum = counter.Sum();
            if (sum < previous)
            {
                decreases++;
            }

            previous = sum;
        }

        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(Eventually.Timeout));
        }

        Assert.Equal(0, decreases);
        Assert.Equal((long)Threads * PerThread, counter.Sum());
    }

    [Fact]
    public void ThreeHundredLiveThreads_AreCountedExactly()
    {
        var counter = new StackRegionCounter();
        const int Threads = 300;
        const int PerThread = 1_000;
        using var start = new Barrier(Threads);

        // All alive at once (the barrier), so 300 stacks claim rows at once.
        Thread[] threads = [.. Enumerable.Range(0, Threads).Select(_ => new Thread(
            () =>
            {
                start.SignalAndWait();
                for (int i = 0; i < PerThread; i++)
                {
                    counter.Increment();
                }
            },
            maxStackSize: 256 * 1024))];
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(Eventually.Timeout));
        }

        Assert.Equal((long)Threads * PerThread, counter.Sum());
    }

    [Fact]
    public void ManyCounters_OnOneThread_EachCountOnlyTheirOwnIncrements()
    {
        StackRegionCounter[] counters = [.. Enumerable.Range(0, 40).Select(_ => new StackRegionCounter())];
        {
            for (int round = 0; round < 3; round++)
            {
                for (int i = 0; i < counters.Length; i++)
                {
                    for (int n = 0; n <= i; n++)
                    {
                        counters[i].Increment();
                    }
                }
            }

            for (int i = 0; i < counters.Length; i++)
            {
                Assert.Equal(3L * (i + 1), counters[i].Sum());
            }
        }
    }

    [Fact]
    public void AThousandCounters_EachHitOnThisThread_CostWellUnderAKilobyteEach_OnAnyCoreCount()
    {
        const int Counters = 1_000;
        var counters = new StackRegionCounter[Counters];

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Counters; i++)
        {
            counters[i] = new StackRegionCounter();
            counters[i].Increment();
        }

        long perCounter = (GC.GetAllocatedBytesForCurrentThread() - before) / Counters;

        // What a model's hit count costs, whatever Environment.ProcessorCount is (before: 128 B per cell, at least 64
        // cells and 8 per core, plus an overflow cell per core: 8,448 B on 2 cores).
        Assert.True(perCounter < 256, $"a hit counter costs {perCounter:N0} B on {Environment.ProcessorCount} cores");
        Assert.All(counters, counter => Assert.Equal(1, counter.Sum()));
    }

    [Fact]
    public void CountersMadeAfterOthersWereCollected_StartAtZero()
    {
        MakeCountersAndDropThem(500);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        // Made after the first ones were collected (whose places they may take): each counts only its own hits.
        StackRegionCounter[] counters = [.. Enumerable.Range(0, 500).Select(_ => new StackRegionCounter())];
        Assert.All(counters, counter => Assert.Equal(0, counter.Sum()));
        counters[7].Increment();
        Assert.Equal(1, counters[7].Sum());
        GC.KeepAlive(counters);

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        static void MakeCountersAndDropThem(int count)
        {
            for (int i = 0; i < count; i++)
            {
                var counter = new StackRegionCounter();
                for (int n = 0; n < 5; n++)
                {
                    counter.Increment();
                }
            }
        }
    }

    [Fact]
    public void ThreadsWhoseStacksAllHashToOneHomeEntry_AreCountedExactly_ThroughTheOverflowCount()
    {
        var counter = new StackRegionCounter();
        const int Threads = 64;
        const int PerThread = 10_000;

        // Stacks a multiple of 16 MiB apart put every thread's region on the same home entry (the table has 1,024
        // entries of 16 KiB on up to 16 cores): more than the 16 nearby entries, so some threads count on the overflow.
        const int StackSize = 16 * 1024 * 1024;
        using var start = new Barrier(Threads);
        Thread[] threads = [.. Enumerable.Range(0, Threads).Select(_ => new Thread(
            () =>
            {
                start.SignalAndWait();
                for (int i = 0; i < PerThread; i++)
                {
                    counter.Increment();
                }
            },
            StackSize))];
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(Eventually.Timeout));
        }

        Assert.Equal((long)Threads * PerThread, counter.Sum());
        Assert.True(counter.OverflowCount > 0, "no thread counted on the overflow: the stacks did not share a home entry");
    }

    [Fact]
    public void ACountPastFourBillionOnOneThread_CarriesAndStaysExact()
    {
        var counter = new StackRegionCounter();
        counter.AddOnThisThread(uint.MaxValue - 2);

        for (int i = 0; i < 5; i++)
        {
            counter.Increment();
        }

        Assert.Equal((long)uint.MaxValue + 3, counter.Sum());

        counter.AddOnThisThread(uint.MaxValue);
        Assert.Equal((2L * uint.MaxValue) + 3, counter.Sum());
    }

    [Fact]
    public void Sum_WhileAThreadCarriesAgainAndAgain_NeverGoesDown_AndEndsExact()
    {
        var counter = new StackRegionCounter();
        const int Carries = 200;
        const int HitsAroundEach = 50;
        using var done = new ManualResetEventSlim();
        var writer = new Thread(() =>
        {
            for (int c = 0; c < Carries; c++)
            {
                // Up to just below the wrap, then increments across it.
                counter.AddOnThisThread(uint.MaxValue - HitsAroundEach);
                for (int i = 0; i < 2 * HitsAroundEach; i++)
                {
                    counter.Increment();
                }
            }

            done.Set();
        });
        writer.Start();

        int decreases = 0;
        long last = 0;
        while (!done.IsSet)
        {
            long sum = counter.Sum();
            if (sum < last)
            {
                decreases++;
            }

            last = sum;
        }

        Assert.True(writer.Join(Eventually.Timeout));
        Assert.Equal(0, decreases);
        Assert.Equal(Carries * ((long)uint.MaxValue + HitsAroundEach), counter.Sum());
    }
}
