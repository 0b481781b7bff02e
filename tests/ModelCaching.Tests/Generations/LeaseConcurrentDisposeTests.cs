using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Generations;

public sealed class LeaseConcurrentDisposeTests
{
    private const int Batches = 50;
    private const int LeasesPerBatch = 1_000;

    [Fact]
    public async Task TwoThreadsDisposingCopiesOfOneLease_AtTheSameInstant_NeverReleaseAThirdHoldersPin()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create();
        await cache.GetModelAsync();
        int failures = 0;
        int holderModelsDisposedWhileHeld = 0;
        int trials = 0;

        for (int batch = 0; batch < Batches; batch++)
        {
            // The third holder keeps its own lease on the generation the trials' leases pin; the reload swaps it out,
            // so only leases keep it, and one pin released twice would dispose the model under the holder.
            ModelLease<FakeModel> holder = cache.Acquire();
            FakeModel held = holder.Model;
            var leases = new ModelLease<FakeModel>[LeasesPerBatch];
            for (int i = 0; i < leases.Length; i++)
            {
                leases[i] = cache.Acquire();
            }

            factory.Source.Content = $"v{batch + 2}";
            await cache.ReloadAsync();

            int racedFailures = RaceDisposals(cache, leases, held);
            failures += racedFailures;
            trials += leases.Length;
            if (held.IsDisposed)
            {
                holderModelsDisposedWhileHeld++;
            }

            try
            {
                holder.Dispose();
            }
            catch (InvalidOperationException)
            {
                // "disposed more than once": the holder's own pin was taken by a racing Dispose.
                failures++;
            }

            if (held.DisposeCount != 1)
            {
                failures++;
            }
        }

        Assert.Equal(Batches * LeasesPerBatch, trials);
        Assert.True(
            failures == 0 && holderModelsDisposedWhileHeld == 0,
            $"{failures} failures in {trials:N0} trials; the holder's model was disposed under its lease in {holderModelsDisposedWhileHeld} of {Batches} batches");
        Assert.Equal(0, cache.GetStatistics().ActiveLeases);
    }

    // Two threads dispose their copy of each lease in turn, released together by a spin barrier; after each trial the
    // first thread counts pins released beyond the one lease ended (the holder's and the remaining leases' must stay).
    private static int RaceDisposals(ModelCache<FakeModel> cache, ModelLease<FakeModel>[] leases, FakeModel held)
    {
        int failures = 0;
        var barrier = new SpinBarrier();
        var threads = new Thread[2];
        for (int t = 0; t < threads.Length; t++)
        {
            bool checks = t == 0;
            threads[t] = new Thread(() =>
            {
                long lost = 0;
                for (int i = 0; i < leases.Length; i++)
                {
                    ModelLease<FakeModel> copy = leases[i];
                    barrier.SignalAndWait();
                    try
                    {
                        copy.Dispose();
                    }
                    catch (Exception)
                    {
                        Interlocked.Increment(ref failures);
                    }

                    barrier.SignalAndWait();
                    if (checks)
                    {
                        // The holder's lease and the leases not yet disposed: exactly those pins remain.
                        long expected = 1 + (leases.Length - i - 1) - lost;
                        long remaining = cache.GetStatistics().ActiveLeases;
                        if (remaining != expected || held.IsDisposed)
                        {
                            Interlocked.Increment(ref failures);
                            lost += Math.Max(0, expected - remaining);
                        }
                    }
                }
            })
            { IsBackground = true };
            threads[t].Start();
        }

        foreach (Thread thread in threads)
        {
            if (!thread.Join(Eventually.Timeout))
            {
                failures++;
            }
        }

        return failures;
    }

    // Two threads meet at each phase; spins and yields but never sleeps, so both start the next Dispose together.
    private sealed class SpinBarrier
    {
        private int _arrived;
        private int _phase;

        public void SignalAndWait()
        {
            int phase = Volatile.Read(ref _phase);
            if (Interlocked.Increment(ref _arrived) == 2)
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
