using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Generations;

public sealed class LeaseDoubleDisposeTests
{
    [Fact]
    public async Task TwoLeasesOnASwappedOutGeneration_DisposingOneTwice_DoesNotDisposeTheModelUnderTheOther()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create();
        ModelLease<FakeModel> first = cache.Acquire();
        ModelLease<FakeModel> second = cache.Acquire();
        FakeModel v1 = first.Model;
        factory.Source.Content = "v2";
        await cache.ReloadAsync();

        first.Dispose();
        first.Dispose();

        Assert.False(v1.IsDisposed);
        Assert.Equal("v1", second.Model.Predict());
        Assert.Equal(1, cache.GetStatistics().ActiveLeases);

        // The other lease's own dispose is the last one: it disposes the model, once, without throwing.
        second.Dispose();
        Assert.Equal(1, v1.DisposeCount);
        Assert.Equal(0, cache.GetStatistics().ActiveLeases);
    }

    [Fact]
    public async Task ACopyOfALease_DisposedAfterTheLease_DoesNothing()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create();
        ModelLease<FakeModel> lease = cache.Acquire();
        ModelLease<FakeModel> copy = lease;
        using ModelLease<FakeModel> other = cache.Acquire();
        factory.Source.Content = "v2";
        await cache.ReloadAsync();

        lease.Dispose();
        copy.Dispose();

        Assert.False(other.Model.IsDisposed);
        Assert.Equal("v1", other.Model.Predict());
    }

    [Fact]
    public async Task LeaseDisposedTwice_WhileServing_IsIgnored_AndNeitherDisposesTheModelNorBreaksAcquire()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create();
        await cache.GetModelAsync();
        ModelLease<FakeModel> lease = cache.Acquire();

        lease.Dispose();
        lease.Dispose();

        Assert.False(cache.GetModel().IsDisposed);
        Assert.Equal(0, cache.GetStatistics().ActiveLeases);
        using ModelLease<FakeModel> again = cache.Acquire();
        Assert.Equal("v1", again.Model.Predict());
        Assert.Equal(1, cache.GetStatistics().ActiveLeases);
    }

    [Fact]
    public async Task AStaleLease_DisposedAgainAfterItsTicketWasReusedByANewLease_DoesNotEndTheNewLease()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create();
        ModelLease<FakeModel> stale = cache.Acquire();
        stale.Dispose();

        // On the same thread the next lease reuses the ticket the stale one returned.
        ModelLease<FakeModel> current = cache.Acquire();
        factory.Source.Content = "v2";
        await cache.ReloadAsync();
        stale.Dispose();

        FakeModel model = current.Model;
        Assert.False(model.IsDisposed);
        Assert.Equal(1, cache.GetStatistics().ActiveLeases);
        current.Dispose();
        Assert.Equal(1, model.DisposeCount);
    }

    [Fact]
    public async Task LeasesOnAllCores_EachDisposedTwice_WhileReloadingInALoop_NeverDisposeAModelUnderAnotherLease()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create();
        await cache.GetModelAsync();
        using var stop = new CancellationTokenSource();
        int failures = 0;
        long calls = 0;
        Task[] workers = [.. Enumerable.Range(0, Environment.ProcessorCount * 2).Select(worker => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    ModelLease<FakeModel> outer = cache.Acquire();
                    ModelLease<FakeModel> inner = cache.Acquire();
                    ModelLease<FakeModel> copy = inner;
                    inner.Dispose();
                    copy.Dispose();
                    inner.Dispose();
                    _ = outer.Model.Predict();
                    outer.Dispose();
                    outer.Dispose();
                    Interlocked.Increment(ref calls);
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        }))];

        // The reloads start once the workers run (on a busy pool they could all finish before any worker started).
        await Eventually.TrueAsync(() => Interlocked.Read(ref calls) > 0, "the workers are taking leases");
        for (int version = 2; version <= 100; version++)
        {
            factory.Source.Content = $"v{version}";
            await cache.ReloadAsync();
        }

        await stop.CancelAsync();
        await Task.WhenAll(workers).WaitAsync(Eventually.Timeout);

        Assert.Equal(0, failures);
        Assert.True(calls > 0);
        Assert.Equal(0, cache.GetStatistics().ActiveLeases);
        FakeModel serving = cache.GetModel();
        Assert.All(factory.Loader.Created.Where(m => m != serving), model => Assert.Equal(1, model.DisposeCount));
        Assert.False(serving.IsDisposed);
    }

    [Fact]
    public void DefaultLease_Dispose_DoesNothing_AndModelThrowsAClearError()
    {
        ModelLease<FakeModel> lease = default;

        lease.Dispose();

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => lease.Model);
        Assert.Contains("ModelLease is default", error.Message);
    }

    [Fact]
    public async Task AcquireAndDispose_OnOneThread_AllocatesNothing()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create();
        await cache.GetModelAsync();
        for (int i = 0; i < 100; i++)
        {
            cache.Acquire().Dispose();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            using ModelLease<FakeModel> lease = cache.Acquire();
            _ = lease.Model;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Nothing per lease: under a parallel test run another thread's stack region can take this thread's spare-ticket
        // slot, and one ticket (24 B) is then allocated once, not per call.
        Assert.True(allocated < 10_000, $"10,000 leases allocated {allocated} B");
    }

    [Fact]
    public async Task AcquireAndDispose_OnANewThreadWhoseSparesAreAllTaken_AllocatesNothing()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create();
        await cache.GetModelAsync();

        // Stacks a multiple of 8 MiB apart put every thread's region on the same home slot (the table has 512 slots of 16 KiB).
        const int StackSize = 16 * 1024 * 1024;

        // Threads at the same depth of their stacks share spare-ticket slots (stacks are megabytes apart): these 64 claim
        // every slot near the home slot of the next thread's stack region, and stay alive (as ended threads' regions would).
        using var hold = new ManualResetEventSlim();
        using var claimed = new CountdownEvent(64);
        var holders = new Thread[64];
        for (int t = 0; t < holders.Length; t++)
        {
            holders[t] = new Thread(
                () =>
                {
                    cache.Acquire().Dispose();
                    claimed.Signal();
                    hold.Wait();
                },
                StackSize);
            holders[t].Start();
        }

        Assert.True(claimed.Wait(TimeSpan.FromSeconds(30)));

        long allocated = 0;
        var measured = new Thread(() =>
        {
            for (int i = 0; i < 100; i++)
            {
                cache.Acquire().Dispose();
            }

            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10_000; i++)
            {
                using ModelLease<FakeModel> lease = cache.Acquire();
                _ = lease.Model;
            }

            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }, StackSize);
        measured.Start();
        measured.Join();
        hold.Set();
        foreach (Thread holder in holders)
        {
            holder.Join();
        }

        Assert.True(allocated < 10_000, $"10,000 leases on a new thread allocated {allocated} B");
    }
}
