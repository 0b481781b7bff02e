using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Attacks;

/// <summary>
/// Attacks on the fail-safe settings shared per template (40812b3: one FailSafeSettings per clock and values): two
/// templates on one provider and one clock with different retry delays; bad reloads of every name of both at once, on
/// many threads, keep each name serving its last good model and retry on its own template's delay, never the other's.
/// (A template name whose first load fails is dropped and loads again when asked: documented, so serving names here.)
/// </summary>
public sealed class FailSafeSettingsAttackTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public void Bad_reloads_on_two_templates_with_different_retry_delays_keep_serving_and_each_retries_on_its_own_delay()
    {
        const int Names = 16;
        var time = new FakeTimeProvider();
        int fastCalls = 0, slowCalls = 0;
        bool broken = false;
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddModelCache()
            .AddModelTemplate<FakeModel>("fast", t => t.FromFactory((name, _) =>
                {
                    Interlocked.Increment(ref fastCalls);
                    return Volatile.Read(ref broken) ? throw new IOException("down") : ValueTask.FromResult(new FakeModel(name));
                })
                .Configure(static o => { o.RetryBaseDelay = TimeSpan.FromSeconds(10); o.RetryMaxDelay = TimeSpan.FromSeconds(20); o.DrainDelay = TimeSpan.Zero; }), static o => o.NamePrefix = "f-")
            .AddModelTemplate<FakeModel>("slow", t => t.FromFactory((name, _) =>
                {
                    Interlocked.Increment(ref slowCalls);
                    return Volatile.Read(ref broken) ? throw new IOException("down") : ValueTask.FromResult(new FakeModel(name));
                })
                .Configure(static o => { o.RetryBaseDelay = TimeSpan.FromMinutes(5); o.RetryMaxDelay = TimeSpan.FromMinutes(10); o.DrainDelay = TimeSpan.Zero; }), static o => o.NamePrefix = "s-");
        using ServiceProvider built = services.BuildServiceProvider();
        IModelCacheProvider provider = built.GetRequiredService<IModelCacheProvider>();
        string[] names = [.. Enumerable.Range(0, Names).SelectMany(static i => new[] { $"f-{i}", $"s-{i}" })];
        foreach (string name in names)
        {
            Assert.Equal(name, provider.GetCache<FakeModel>(name).GetModel().Content);
        }

        // Bad reloads of every name at once on 8 threads: each fails, and its last good model serves on.
        Volatile.Write(ref broken, true);
        int unexpected = 0;
        Parallel.ForEach(names, new ParallelOptions { MaxDegreeOfParallelism = 8 }, name =>
        {
            IModelCache<FakeModel> cache = provider.GetCache<FakeModel>(name);
            try
            {
                cache.ReloadAsync().WaitAsync(Bound).GetAwaiter().GetResult();
                Interlocked.Increment(ref unexpected);
            }
            catch (ModelLoadException)
            {
            }
            catch (Exception)
            {
                Interlocked.Increment(ref unexpected);
            }

            if (cache.GetModel().Content != name || cache.State != ModelCacheState.Degraded)
            {
                Interlocked.Increment(ref unexpected);
            }
        });
        Assert.Equal(0, unexpected);
        Assert.Equal(2 * Names, Volatile.Read(ref fastCalls));
        Assert.Equal(2 * Names, Volatile.Read(ref slowCalls));

        // 30 s later: every fast name retried (its delay is 10-20 s), no slow name did (5 min at least).
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref fastCalls) >= 3 * Names, Bound), $"{fastCalls - (2 * Names)} of {Names} fast names retried");
        Assert.Equal(2 * Names, Volatile.Read(ref slowCalls));
        foreach (string name in names)
        {
            Assert.Equal(name, provider.GetCache<FakeModel>(name).GetModel().Content);
        }
    }
}
