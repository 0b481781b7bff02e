using ModelCaching.Generations;

namespace ModelCaching.Tests.Generations;

/// <summary>
/// A cache's Reloaded and Unloaded handlers live in a <see cref="ServingEvents"/> made at the first subscription (issue
/// 18): subscriptions and unsubscriptions on many threads at once lose none, and a cache's events still reach every
/// handler subscribed.
/// </summary>
public sealed class ServingEventsTests
{
    private const int Threads = 8;
    private const int HandlersPerThread = 100;

    [Fact]
    public void Subscriptions_on_many_threads_at_once_are_all_kept_and_unsubscriptions_all_take_effect()
    {
        var events = new ServingEvents();
        int reloadedCalls = 0;
        int unloadedCalls = 0;
        var reloaded = new EventHandler<ModelReloadedEventArgs>[Threads * HandlersPerThread];
        var unloaded = new EventHandler<ModelUnloadedEventArgs>[Threads * HandlersPerThread];
        for (int i = 0; i < reloaded.Length; i++)
        {
            reloaded[i] = (_, _) => Interlocked.Increment(ref reloadedCalls);
            unloaded[i] = (_, _) => Interlocked.Increment(ref unloadedCalls);
        }

        RunOnThreads(i => { events.AddReloaded(reloaded[i]); events.AddUnloaded(unloaded[i]); });
        events.Reloaded!.Invoke(this, new ModelReloadedEventArgs("m", null, new ModelVersion("g1", 1, "test", DateTimeOffset.UnixEpoch, 0), ModelLoadReason.FirstUse));
        events.Unloaded!.Invoke(this, new ModelUnloadedEventArgs("m", new ModelVersion("g1", 1, "test", DateTimeOffset.UnixEpoch, 0), "idle"));
        Assert.Equal((reloaded.Length, unloaded.Length), (reloadedCalls, unloadedCalls));

        RunOnThreads(i => { events.RemoveReloaded(reloaded[i]); events.RemoveUnloaded(unloaded[i]); });
        Assert.Null(events.Reloaded);
        Assert.Null(events.Unloaded);
    }

    [Fact]
    public async Task A_cache_without_handlers_makes_none_and_its_events_reach_handlers_subscribed_later()
    {
        var factory = new Support.CacheFactory();
        await using ModelCache<Support.FakeModel> cache = factory.Create();
        await cache.GetModelAsync();
        var reloads = new List<string>();
        var unloads = new List<string>();
        cache.Reloaded += (_, e) => reloads.Add(e.Current.Id);
        cache.Unloaded += (_, e) => unloads.Add(e.Reason);

        factory.Source.Content = "v2";
        ModelVersion reloadedTo = await cache.ReloadAsync();
        cache.Invalidate();

        Assert.Equal([reloadedTo.Id], reloads);
        Assert.Single(unloads);
    }

    private static void RunOnThreads(Action<int> each)
    {
        using var start = new Barrier(Threads);
        var threads = new Thread[Threads];
        for (int t = 0; t < Threads; t++)
        {
            int first = t * HandlersPerThread;
            threads[t] = new Thread(() =>
            {
                start.SignalAndWait();
                for (int i = first; i < first + HandlersPerThread; i++)
                {
                    each(i);
                }
            });
            threads[t].Start();
        }

        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(TimeSpan.FromSeconds(60)), "a subscribing thread ended");
        }
    }
}
