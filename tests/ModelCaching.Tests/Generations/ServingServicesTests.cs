using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Generations;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Generations;

/// <summary>
/// A template's models share one <see cref="ServingServices"/> (the clock, log, metrics, budget and owner; issue 18): the
/// models made one after the other, or on many threads at once, each hold their own provider's services, and a model
/// of another provider (other objects) never takes them.
/// </summary>
public sealed class ServingServicesTests
{
    private const int Threads = 8;
    private const int NamesPerThread = 50;

    [Fact]
    public async Task Models_of_a_template_share_one_services_object_holding_their_providers_clock_metrics_and_budget()
    {
        var clock = new FakeTimeProvider();
        await using ServiceProvider provider = Build(clock);
        IModelCacheProvider caches = provider.GetRequiredService<IModelCacheProvider>();

        var alpha = (ModelCache<FakeModel>)caches.GetCache<FakeModel>("tenant-alpha");
        var beta = (ModelCache<FakeModel>)caches.GetCache<FakeModel>("tenant-beta");
        await alpha.GetModelAsync();
        await beta.GetModelAsync();

        Assert.Same(alpha.Changes.Services, beta.Changes.Services);
        Assert.Equal("tenants", alpha.TemplateName);
        Assert.Equal("tenants", beta.TemplateName);
        Assert.Same(alpha.Limiter, beta.Limiter);
        Assert.Same(clock, alpha.Changes.TimeProvider);
        Assert.NotNull(alpha.Changes.Budget);
        Assert.Same(alpha.Changes.Budget, beta.Changes.Budget);
        Assert.Equal(clock.GetUtcNow(), beta.Version!.LoadedAt);
    }

    [Fact]
    public async Task Models_made_on_many_threads_at_once_by_two_providers_of_one_registration_each_hold_their_own_providers_services()
    {
        var services = new ServiceCollection();
        var first = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(1));
        var second = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(2));
        Register(services);
        await using ServiceProvider one = With(services, first).BuildServiceProvider();
        await using ServiceProvider two = With(services, second).BuildServiceProvider();
        IModelCacheProvider ones = one.GetRequiredService<IModelCacheProvider>();
        IModelCacheProvider twos = two.GetRequiredService<IModelCacheProvider>();
        int failures = 0;

        var threads = new Thread[Threads];
        using var start = new Barrier(Threads);
        for (int t = 0; t < Threads; t++)
        {
            int thread = t;
            threads[t] = new Thread(() =>
            {
                start.SignalAndWait();
                for (int i = 0; i < NamesPerThread; i++)
                {
                    (IModelCacheProvider caches, FakeTimeProvider clock) = (thread + i) % 2 == 0 ? (ones, first) : (twos, second);
                    var cache = (ModelCache<FakeModel>)caches.GetCache<FakeModel>($"tenant-{thread}-{i}");
                    if (!ReferenceEquals(cache.Changes.TimeProvider, clock) || cache.GetModel().Content != $"built:tenant-{thread}-{i}" || cache.Version!.LoadedAt != clock.GetUtcNow())
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
            });
            threads[t].Start();
        }

        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(TimeSpan.FromSeconds(30)));
        }

        Assert.Equal(0, failures);
    }

    private static ServiceProvider Build(TimeProvider clock)
    {
        var services = new ServiceCollection();
        Register(services);
        return With(services, clock).BuildServiceProvider();
    }

    private static void Register(IServiceCollection services) =>
        services.AddModelCache().AddModelTemplate<FakeModel>(
            "tenants",
            static t => t.FromFactory(static (name, _) => ValueTask.FromResult(new FakeModel("built:" + name)), "tenant factory"),
            static o =>
            {
                o.NamePrefix = "tenant-";
                o.MemoryBudgetBytes = 1L << 40;
            });

    private static ServiceCollection With(IServiceCollection services, TimeProvider clock)
    {
        var copy = new ServiceCollection();
        foreach (ServiceDescriptor descriptor in services)
        {
            ((ICollection<ServiceDescriptor>)copy).Add(descriptor);
        }

        copy.AddSingleton<TimeProvider>(clock);
        return copy;
    }
}
