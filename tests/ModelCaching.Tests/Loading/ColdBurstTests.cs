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

    // A bound for a loaded 2-core CI machine, not a timing claim: the fixed cache takes about 0.3 s, the broken one never finished.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

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

        (int served, int failed) = Burst(() => cache.GetModel().Content == "v1");

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

        (int served, int failed) = Burst(() =>
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
        (int served, int failed) = Burst(() =>
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

    /// <summary>Queues <see cref="Callers"/> synchronous calls on the thread pool, as a burst of requests does.</summary>
    internal static (int Served, int Failed) Burst(Func<bool> call)
    {
        int served = 0;
        int failed = 0;
        using var done = new CountdownEvent(Callers);
        for (int i = 0; i < Callers; i++)
        {
            ThreadPool.QueueUserWorkItem(_ =>
            {
                try
                {
                    if (call())
                    {
                        Interlocked.Increment(ref served);
                    }
                    else
                    {
                        Interlocked.Increment(ref failed);
                    }
                }
                catch
                {
                    Interlocked.Increment(ref failed);
                }
                finally
                {
                    done.Signal();
                }
            });
        }

        Assert.True(done.Wait(Bound), $"{done.CurrentCount} of {Callers} synchronous callers were still waiting after {Bound}.");
        return (served, failed);
    }
}
