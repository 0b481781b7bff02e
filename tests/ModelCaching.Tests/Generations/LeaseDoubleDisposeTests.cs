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

        Assert.False(current.Model.IsDisposed);
        Assert.Equal(1, cache.GetStatistics().ActiveLeases);
        current.Dispose();
        Assert.Equal(1, current.Model.DisposeCount);
    }

    [Fact]
    public async Task CopiesOfOneLease_DisposedAtOnceOnAllCores_EndItExactlyOnce()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create();
        await cache.GetModelAsync();
        int threadCount = Math.Max(2, Environment.ProcessorCount) * 2;
        int failures = 0;

        for (int round = 0; round < 200; round++)
        {
            using ModelLease<FakeModel> holder = cache.Acquire();
            ModelLease<FakeModel> shared = cache.Acquire();
            factory.Source.Content = $"v{round + 2}";
            await cache.ReloadAsync();
            FakeModel model = holder.Model;

            using var start = new Barrier(threadCount);
            Task[] disposers = [.. Enumerable.Range(0, threadCount).Select(_ => Task.Factory.StartNew(
                () =>
                {
                    start.SignalAndWait();
                    shared.Dispose();
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default))];
            await Task.WhenAll(disposers).WaitAsync(Eventually.Timeout);

            if (model.IsDisposed || cache.GetStatistics().ActiveLeases != 1)
            {
                failures++;
            }
        }

        Assert.Equal(0, failures);
        Assert.Equal(0, cache.GetStatistics().ActiveLeases);
        Assert.All(factory.Loader.Created.Where(m => m != cache.GetModel()), model => Assert.Equal(1, model.DisposeCount));
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
        Assert.Equal(0, allocated);
    }
}
