using System.Text;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Loading;

/// <summary>
/// A burst of synchronous callers on a cold model: every one is a blocked thread-pool thread, so a load that needed a
/// pool thread would start only after all of them (before the fix: 1,000 callers, no load after 80 s).
/// </summary>
public sealed class ColdBurstTests
{
    private const int Callers = 1_000;

    [Fact]
    public void GetModel_WithAThousandSynchronousCallersOnPoolThreads_LoadsOnceAndServesThemAll()
    {
        int loads = 0;
        using var cache = new ModelCache<FakeModel>("cold", new ModelOptions<FakeModel>
        {
            Source = new MutableSource("v1"),
            Loader = new DelegateModelLoader<FakeModel>((artifact, _) =>
            {
                Interlocked.Increment(ref loads);
                Thread.Sleep(200); // a synchronous 200 ms load, like ML.NET's
                return ValueTask.FromResult(new FakeModel(Encoding.UTF8.GetString(artifact.Content.Span)));
            }),
        });

        (int served, int failed) = SynchronousBurst.Run(Callers, () => cache.GetModel().Content == "v1");

        Assert.Equal(Callers, served);
        Assert.Equal(0, failed);
        Assert.Equal(1, loads);
    }

    [Fact]
    public void Acquire_WithAThousandSynchronousCallersOnPoolThreads_LoadsOnceAndLeasesThemAll()
    {
        int loads = 0;
        using var cache = new ModelCache<FakeModel>("cold-leases", new ModelOptions<FakeModel>
        {
            Source = new MutableSource("v1"),
            Loader = new DelegateModelLoader<FakeModel>((artifact, _) =>
            {
                Interlocked.Increment(ref loads);
                Thread.Sleep(200);
                return ValueTask.FromResult(new FakeModel(Encoding.UTF8.GetString(artifact.Content.Span)));
            }),
        });

        (int served, int failed) = SynchronousBurst.Run(Callers, () =>
        {
            using ModelLease<FakeModel> lease = cache.Acquire();
            return lease.Model.Content == "v1";
        });

        Assert.Equal(Callers, served);
        Assert.Equal(0, failed);
        Assert.Equal(1, loads);
        Assert.Equal(0, cache.GetStatistics().ActiveLeases);
    }

    [Fact]
    public void GetModel_WhenTheFirstLoadFails_EveryBlockedCallerGetsTheModelLoadException()
    {
        using var cache = new ModelCache<FakeModel>("cold-broken", new ModelOptions<FakeModel>
        {
            Source = new MutableSource("bad bytes"),
            Loader = new FakeLoader(),
        });

        int failures = 0;
        (int served, int failed) = SynchronousBurst.Run(Callers, () =>
        {
            try
            {
                cache.GetModel();
                return true;
            }
            catch (ModelLoadException error) when (error.ModelName == "cold-broken")
            {
                Interlocked.Increment(ref failures);
                return false;
            }
        });

        Assert.Equal(0, served);
        Assert.Equal(Callers, failed);
        Assert.Equal(Callers, failures);
    }
}
