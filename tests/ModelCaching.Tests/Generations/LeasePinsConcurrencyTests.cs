using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using ModelCaching.Generations;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Generations;

/// <summary>
/// The pinned lease (<see cref="LeasePins"/>) under real concurrency: a pin stored at the same instant its generation is
/// retired, leases taken, nested, passed to other threads and disposed twice while generations are swapped, unloaded and
/// retired, and threads that end with a lease still out (their rows recycled). Every failure is counted; the count must be 0.
/// </summary>
public sealed class LeasePinsConcurrencyTests
{
    [Fact]
    public void TakingAPin_AtTheInstantTheGenerationIsRetired_EitherPinsItUntilDisposeOrGetsNoLease_AndTheModelIsDisposedOnce()
    {
        const int Trials = 20_000;
        int failures = 0;
        int pinnedAtRetirement = 0;
        int refused = 0;
        var barrier = new SpinBarrier(3);
        ModelGeneration<FakeModel>? generation = null;
        FakeModel? model = null;

        var takers = new Thread[2];
        for (int t = 0; t < takers.Length; t++)
        {
            takers[t] = new Thread(() =>
            {
                for (int trial = 0; trial < Trials; trial++)
                {
                    barrier.SignalAndWait();
                    ModelGeneration<FakeModel> current = Volatile.Read(ref generation)!;
                    if (ModelLease<FakeModel>.TryTake(current, out ModelLease<FakeModel> lease))
                    {
                        // Pinned: whatever the retirer did meanwhile, the model stays undisposed until this Dispose.
                        for (int spin = 0; spin < trial % 64; spin++)
                        {
                            if (lease.Model.IsDisposed)
                            {
                                Interlocked.Increment(ref failures);
                                break;
                            }
                        }

                        if (current.IsRetired)
                        {
                            Interlocked.Increment(ref pinnedAtRetirement);
                        }

                        if (lease.Model.IsDisposed)
                        {
                            Interlocked.Increment(ref failures);
                        }

                        lease.Dispose();
                    }
                    else
                    {
                        Interlocked.Increment(ref refused);
                    }

                    barrier.SignalAndWait();
                }
            })
            { IsBackground = true };
            takers[t].Start();
        }

        var version = new ModelVersion("pins", 1, "memory", DateTimeOffset.UnixEpoch, 0);
        for (int trial = 0; trial < Trials; trial++)
        {
            model = new FakeModel("pins");
            Volatile.Write(ref generation, new ModelGeneration<FakeModel>("pins", model, version, null, NullLogger.Instance));
            barrier.SignalAndWait();

            // A varying head start for the takers, so that retirement lands before, between and after their pins.
            Thread.SpinWait(trial % 97);
            generation!.Retire();
            barrier.SignalAndWait();

            // Both takers' leases ended and the cache's reference is gone: disposed exactly once, by whoever ended last.
            if (model.DisposeCount != 1 || !generation.IsDisposed || generation.ActiveLeases != 0)
            {
                failures++;
            }
        }

        foreach (Thread taker in takers)
        {
            Assert.True(taker.Join(Eventually.Timeout), "a taker did not finish in time");
        }

        Assert.True(failures == 0, $"{failures} failures in {Trials:N0} trials ({pinnedAtRetirement} leases still pinned when retired, {refused} refused)");
    }

    [Fact]
    public async Task ManyThreads_TakeNestPassAndDisposeLeases_WhileGenerationsSwap_NoModelIsDisposedUnderALease_EachOnceAfterItsLeases()
    {
        const int Workers = 4;
        const int OperationsPerWorker = 20_000;
        const int Swaps = 200;
        const int ShortLivedThreads = 100;
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create();
        await cache.GetModelAsync();
        var handedOver = new ConcurrentQueue<ModelLease<FakeModel>>();
        var problems = new ConcurrentQueue<string>();
        int failures = 0;
        // Workers go on until every swap is done (and at least OperationsPerWorker operations): on a loaded machine the
        // swaps are slower than the leases, and a swap with no lease around it tests nothing.
        bool swapsDone = false;
        int rowsBefore = LeasePins.RowCount;

        void Check(ModelLease<FakeModel> lease, string where)
        {
            if (lease.Model.IsDisposed)
            {
                Interlocked.Increment(ref failures);
                problems.Enqueue($"a model disposed under a lease ({where})");
            }
        }

        void TakeFromOthers()
        {
            if (handedOver.TryDequeue(out ModelLease<FakeModel> passed))
            {
                Check(passed, "passed to another thread");
                passed.Dispose();
            }
        }

        var workers = new Thread[Workers];
        for (int w = 0; w < workers.Length; w++)
        {
            int seed = w;
            workers[w] = new Thread(() =>
            {
                var random = new Random(seed);
                var held = new List<ModelLease<FakeModel>>();
                try
                {
                    for (int i = 0; i < OperationsPerWorker || !Volatile.Read(ref swapsDone); i++)
                    {
                        int operation = random.Next(100);
                        if (operation < 45)
                        {
                            using ModelLease<FakeModel> lease = cache.Acquire();
                            Check(lease, "one lease");
                        }
                        else if (operation < 60)
                        {
                            // Up to 7 at once: past the row's 4 pins the thread takes counted leases.
                            int count = 1 + random.Next(7);
                            for (int n = 0; n < count; n++)
                            {
                                held.Add(cache.Acquire());
                            }

                            foreach (ModelLease<FakeModel> lease in held)
                            {
                                Check(lease, "nested");
                            }

                            while (held.Count > 0)
                            {
                                int at = random.Next(held.Count);
                                held[at].Dispose();
                                held.RemoveAt(at);
                            }
                        }
                        else if (operation < 80)
                        {
                            ModelLease<FakeModel> lease = cache.Acquire();
                            Check(lease, "before passing");
                            handedOver.Enqueue(lease);
                            TakeFromOthers();
                        }
                        else if (operation < 90)
                        {
                            // A copy disposed after the original: the second Dispose does nothing, the next lease is fine.
                            ModelLease<FakeModel> lease = cache.Acquire();
                            ModelLease<FakeModel> copy = lease;
                            lease.Dispose();
                            copy.Dispose();
                            Assert.Throws<ObjectDisposedException>(() => copy.Model);
                        }
                        else
                        {
                            using ModelLease<FakeModel> lease = cache.AcquireAsync().AsTask().GetAwaiter().GetResult();
                            Check(lease, "async");
                        }
                    }
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref failures);
                    problems.Enqueue(ex.ToString());
                }
            })
            { IsBackground = true };
            workers[w].Start();
        }

        // Threads that end with a lease still out: their rows go to later threads while that lease pins one of its pins.
        var spawner = new Thread(() =>
        {
            for (int i = 0; i < ShortLivedThreads; i++)
            {
                var shortLived = new Thread(() =>
                {
                    ModelLease<FakeModel> kept = cache.Acquire();
                    using (ModelLease<FakeModel> own = cache.Acquire())
                    {
                        Check(own, "short-lived thread");
                    }

                    handedOver.Enqueue(kept);
                });
                shortLived.Start();
                if (!shortLived.Join(Eventually.Timeout))
                {
                    Interlocked.Increment(ref failures);
                    problems.Enqueue("a short-lived thread did not end");
                }
            }
        })
        { IsBackground = true };
        spawner.Start();

        try
        {
            for (int swap = 0; swap < Swaps && Volatile.Read(ref failures) == 0; swap++)
            {
                if (swap % 10 == 9)
                {
                    cache.Invalidate();
                }
                else
                {
                    factory.Source.Content = $"v{swap + 2}";
                    await cache.ReloadAsync();
                }
            }
        }
        finally
        {
            Volatile.Write(ref swapsDone, true);
        }

        foreach (Thread thread in workers.Append(spawner))
        {
            Assert.True(thread.Join(Eventually.Timeout), "a thread did not finish in time");
        }

        while (handedOver.TryDequeue(out ModelLease<FakeModel> left))
        {
            Check(left, "left over");
            left.Dispose();
        }

        Assert.True(failures == 0, $"{failures} failures: {string.Join(" | ", problems.Take(5))}");
        Assert.Equal(0, cache.GetStatistics().ActiveLeases);

        // Every generation but the serving one was swapped out or unloaded, and its leases have all ended: each is
        // disposed exactly once (by its last lease's Dispose, or at retirement).
        FakeModel serving = cache.GetModel();
        FakeModel[] created;
        lock (factory.Loader.Created)
        {
            created = [.. factory.Loader.Created];
        }

        Assert.True(created.Length > Swaps / 2, $"only {created.Length} generations were loaded");
        Assert.All(created, model => Assert.Equal(model == serving ? 0 : 1, model.DisposeCount));
        Assert.Equal(0, cache.GetStatistics().RetiredGenerations);

        // Rows of ended threads were reused: far fewer new rows than threads that took leases.
        Assert.True(LeasePins.RowCount - rowsBefore < ShortLivedThreads / 2, $"{LeasePins.RowCount - rowsBefore} new rows for {ShortLivedThreads} short-lived threads");

        await cache.DisposeAsync();
        Assert.Equal(1, serving.DisposeCount);
    }

    [Fact]
    public void ARowOfAnEndedThread_GoesToTheNextThread_AndALeaseTheEndedThreadPassedOnStaysValidUntilItsDispose()
    {
        var model = new FakeModel("row");
        var version = new ModelVersion("row", 1, "memory", DateTimeOffset.UnixEpoch, 0);
        var generation = new ModelGeneration<FakeModel>("row", model, version, null, NullLogger.Instance);
        ModelLease<FakeModel> passedOn = default;
        LeasePins? firstRow = null;

        // Threads start one after another, so the second finds the first's row free to take (another test may take it
        // first: then the second gets another, and the first's lease must still hold).
        var first = new Thread(() =>
        {
            Assert.True(ModelLease<FakeModel>.TryTake(generation, out passedOn));
            firstRow = LeasePins.OfThisThread;
        });
        first.Start();
        Assert.True(first.Join(Eventually.Timeout));

        int taken = 0;
        LeasePins? secondRow = null;
        var second = new Thread(() =>
        {
            // Five at once: the passed-on lease still holds one pin of a recycled row, so at most three are free.
            var leases = new ModelLease<FakeModel>[5];
            for (int i = 0; i < leases.Length; i++)
            {
                if (ModelLease<FakeModel>.TryTake(generation, out leases[i]))
                {
                    taken++;
                }
            }

            secondRow = LeasePins.OfThisThread;
            foreach (ModelLease<FakeModel> lease in leases)
            {
                lease.Dispose();
            }
        });
        second.Start();
        Assert.True(second.Join(Eventually.Timeout));

        Assert.Equal(5, taken);
        Assert.NotNull(firstRow);
        Assert.NotNull(secondRow);
        Assert.Equal("row", passedOn.Model.Content);
        Assert.Equal(1, generation.ActiveLeases);

        generation.Retire();
        Assert.False(model.IsDisposed);

        passedOn.Dispose();
        Assert.Equal(1, model.DisposeCount);
        Assert.Throws<ObjectDisposedException>(() => passedOn.Model);
    }

    // N threads meet at each phase; spins and yields but never sleeps, so all start the next step together.
    private sealed class SpinBarrier(int parties)
    {
        private int _arrived;
        private int _phase;

        public void SignalAndWait()
        {
            int phase = Volatile.Read(ref _phase);
            if (Interlocked.Increment(ref _arrived) == parties)
            {
                Volatile.Write(ref _arrived, 0);
                Volatile.Write(ref _phase, phase + 1);
                return;
            }

            var spin = default(SpinWait);
            while (Volatile.Read(ref _phase) == phase)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }
    }
}
