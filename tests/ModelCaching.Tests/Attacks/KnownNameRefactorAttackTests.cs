using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Tests.Support;
using ModelCaching.Tests.Templates;

namespace ModelCaching.Tests.Attacks;

/// <summary>
/// Attacks on the known-name refactor (issue 18, 44c87ce): one provider entry per name with the creation order kept by
/// each cache, timers and retirement made when first needed, a load pipeline per load. Real threads, counted failures.
/// </summary>
public sealed class KnownNameRefactorAttackTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private readonly TenantFiles _files = new();

    public void Dispose() => _files.Dispose();

    // Runs body on threads real threads at once (released together by a barrier), bounded.
    private static void OnThreads(int threads, Action<int> body)
    {
        using var barrier = new Barrier(threads);
        var workers = new Thread[threads];
        for (int i = 0; i < threads; i++)
        {
            int index = i;
            workers[i] = new Thread(() =>
            {
                barrier.SignalAndWait(Bound);
                body(index);
            });
            workers[i].Start();
        }

        foreach (Thread worker in workers)
        {
            Assert.True(worker.Join(Bound), "a worker thread did not end within the bound");
        }
    }

    private static IReadOnlyList<FakeModel> Created(FakeLoader loader)
    {
        lock (loader.Created)
        {
            return [.. loader.Created];
        }
    }

    [Fact]
    public void ManyThreadsMakingTheSameNewTemplateName_GetOneCache_AndOneLoad()
    {
        const int Names = 20;
        for (int n = 0; n < Names; n++)
        {
            _files.Write($"same{n}");
        }

        using ServiceProvider services = _files.Services().BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        int failures = 0;
        for (int n = 0; n < Names; n++)
        {
            var seen = new ConcurrentBag<(IModelCache<FakeModel> Cache, FakeModel Model)>();
            string name = $"same{n}";
            OnThreads(8, i =>
            {
                try
                {
                    IModelCache<FakeModel> cache = i % 2 == 0 ? provider.GetCache<FakeModel>(name) : (IModelCache<FakeModel>)provider.GetCache(name);
                    seen.Add((cache, cache.GetModel()));
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref failures);
                }
            });

            Assert.Single(seen.Select(static s => s.Cache).Distinct());
            Assert.Single(seen.Select(static s => s.Model).Distinct());
        }

        Assert.Equal(0, failures);
        Assert.Equal(Names, _files.Loader.Loads);
        Assert.Equal(Names, provider.Names.Count);
    }

    [Fact]
    public async Task NamesMadeWhileTheProviderIsDisposed_LeaveNoModelUndisposed_AndFailWithObjectDisposed()
    {
        const int Rounds = 10;
        int unexpected = 0;
        var unexpectedKinds = new ConcurrentBag<string>();
        for (int round = 0; round < Rounds; round++)
        {
            for (int n = 0; n < 400; n++)
            {
                _files.Write($"r{round}n{n}");
            }

            ServiceProvider services = _files.Services().BuildServiceProvider();
            IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
            int next = -1;
            int disposed = 0;
            int madeAfterDisposal = 0;
            var dispose = new Thread(() =>
            {
                services.Dispose();
                Volatile.Write(ref disposed, 1);
            });
            OnThreads(4, i =>
            {
                if (i == 0)
                {
                    Thread.Sleep(1);
                    dispose.Start();
                }

                int afterCount = 0;
                for (int n = Interlocked.Increment(ref next); n < 400 && afterCount < 3; n = Interlocked.Increment(ref next))
                {
                    bool after = Volatile.Read(ref disposed) != 0;
                    afterCount += after ? 1 : 0;
                    try
                    {
                        provider.GetCache<FakeModel>($"r{round}n{n}").GetModel();
                        if (after)
                        {
                            Interlocked.Increment(ref madeAfterDisposal);
                        }
                    }
                    catch (ObjectDisposedException)
                    {
                    }
                    catch (ModelLoadException)
                    {
                        // A load cancelled by the disposal.
                    }
                    catch (Exception ex)
                    {
                        Interlocked.Increment(ref unexpected);
                        unexpectedKinds.Add(ex.GetType().Name);
                    }
                }
            });
            Assert.True(dispose.Join(Bound));

            // Every model loaded is disposed once its load has ended: none is left in a cache nobody will dispose.
            await Eventually.TrueAsync(() => Created(_files.Loader).All(static m => m.DisposeCount == 1), $"round {round}: every model disposed once ({Created(_files.Loader).Count(static m => m.DisposeCount != 1)} of {Created(_files.Loader).Count} not; {madeAfterDisposal} served after the provider was disposed)");
            Assert.Equal(0, madeAfterDisposal);
        }

        Assert.True(unexpected == 0, string.Join(", ", unexpectedKinds));
    }

    [Fact]
    public async Task DisposeAndDisposeAsync_CalledTogetherFromTwoThreads_DisposeEveryModelExactlyOnce_AndThrowNothing()
    {
        const int Names = 24;
        for (int n = 0; n < Names; n++)
        {
            _files.Write($"d{n}");
        }

        for (int round = 0; round < 10; round++)
        {
            ServiceProvider services = _files.Services().BuildServiceProvider();
            IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
            var loaded = new List<FakeModel>();
            for (int n = 0; n < Names; n++)
            {
                loaded.Add(provider.GetCache<FakeModel>($"d{n}").GetModel());
            }

            int failures = 0;
            OnThreads(3, i =>
            {
                try
                {
                    if (i == 0)
                    {
                        ((IDisposable)provider).Dispose();
                    }
                    else
                    {
                        ((IAsyncDisposable)provider).DisposeAsync().AsTask().Wait(Bound);
                    }
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref failures);
                }
            });

            Assert.Equal(0, failures);
            Assert.All(loaded, static m => Assert.Equal(1, m.DisposeCount));
            await services.DisposeAsync();
            Assert.All(loaded, static m => Assert.Equal(1, m.DisposeCount));
        }
    }

    [Fact]
    public async Task ATemplateModelDroppedAfterAFailedFirstLoad_WhileOthersLookItUp_IsMadeAgain_NeverLeftDisposedInTheTable()
    {
        using ServiceProvider services = _files.Services().BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        int other = 0;
        var kinds = new ConcurrentBag<string>();
        for (int round = 0; round < 60; round++)
        {
            string name = $"drop{round}";
            File.WriteAllText(Path.Combine(_files.Directory, name + ".bin"), "bad content");
            OnThreads(6, _ =>
            {
                for (int k = 0; k < 5; k++)
                {
                    try
                    {
                        provider.GetCache<FakeModel>(name).GetModel();
                        Interlocked.Increment(ref other);
                        kinds.Add("served a bad model");
                    }
                    catch (ModelLoadException)
                    {
                    }
                    catch (ObjectDisposedException)
                    {
                        // A caller that took the dropped cache just before it was disposed.
                    }
                    catch (Exception ex)
                    {
                        Interlocked.Increment(ref other);
                        kinds.Add(ex.GetType().Name);
                    }
                }
            });

            // The name now loads: the next lookup makes a fresh cache (a dropped one never stays in the table).
            _files.Write(name);
            await Eventually.TrueAsync(
                () =>
                {
                    try
                    {
                        return provider.GetCache<FakeModel>(name).GetModel().Content.StartsWith(name, StringComparison.Ordinal);
                    }
                    catch (ModelLoadException)
                    {
                        return false;
                    }
                    catch (ObjectDisposedException)
                    {
                        return false;
                    }
                },
                $"round {round}: '{name}' loads once its file is good");
        }

        Assert.True(other == 0, string.Join(", ", kinds));
    }

    [Fact]
    public async Task TheFirstRetryArmed_RacingWithDisposal_LeavesNoTimerRunning()
    {
        var factory = new CacheFactory();
        factory.Source.FailWith = new IOException("source down");
        for (int round = 0; round < 50; round++)
        {
            ModelCache<FakeModel> cache = factory.Create(o => o.RetryBaseDelay = TimeSpan.FromSeconds(1));
            Task<FakeModel>? load = null;
            OnThreads(2, i =>
            {
                if (i == 0)
                {
                    load = cache.GetModelAsync().AsTask();
                }
                else
                {
                    cache.Dispose();
                }
            });
            await Assert.ThrowsAnyAsync<Exception>(() => load!.WaitAsync(Bound));
        }

        int fetches = factory.Source.Fetches;
        for (int i = 0; i < 20; i++)
        {
            factory.Time.Advance(TimeSpan.FromMinutes(10));
        }

        await Task.Delay(50);
        Assert.Equal(fetches, factory.Source.Fetches);
    }

    [Fact]
    public async Task TheFirstRetryArmed_RacingWithASuccessfulReload_EndsReady_WithNoRetryLeft()
    {
        for (int round = 0; round < 30; round++)
        {
            var factory = new CacheFactory();
            factory.Source.FailWith = new IOException("source down");
            using ModelCache<FakeModel> cache = factory.Create(o => o.RetryBaseDelay = TimeSpan.FromSeconds(1));
            Task<FakeModel> failing = cache.GetModelAsync().AsTask();
            Task? reload = null;
            OnThreads(2, i =>
            {
                if (i == 1)
                {
                    factory.Source.FailWith = null;
                    reload = cache.ReloadAsync(force: true);
                }
            });
            await Task.WhenAny(failing, Task.Delay(Bound));
            await Task.WhenAny(reload!, Task.Delay(Bound));
            await Eventually.TrueAsync(() => cache.State == ModelCacheState.Ready || cache.State == ModelCacheState.Failed, "the race settled");
            factory.Time.Advance(TimeSpan.FromMinutes(10));
            await Eventually.TrueAsync(() => cache.State == ModelCacheState.Ready, $"round {round}: ready once the source is back ({cache.State})");
            int fetches = factory.Source.Fetches;
            factory.Time.Advance(TimeSpan.FromHours(1));
            await Task.Delay(20);
            Assert.Equal(fetches, factory.Source.Fetches);
            Assert.False(cache.GetModel().IsDisposed);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TimeToLiveOrIdle_AfterAFailedFirstLoad_StillRetriesRefreshesAndUnloads(bool timeToLive)
    {
        var factory = new CacheFactory();
        factory.Source.FailWith = new IOException("source down");
        using ModelCache<FakeModel> cache = factory.Create(o =>
        {
            o.RetryBaseDelay = TimeSpan.FromSeconds(1);
            if (timeToLive)
            {
                o.TimeToLive = TimeSpan.FromMinutes(10);
            }
            else
            {
                o.IdleTimeout = TimeSpan.FromMinutes(30);
            }
        });
        await Assert.ThrowsAnyAsync<Exception>(() => cache.GetModelAsync().AsTask().WaitAsync(Bound));
        factory.Source.FailWith = null;
        for (int i = 0; i < 10 && cache.State != ModelCacheState.Ready; i++)
        {
            factory.Time.Advance(TimeSpan.FromSeconds(30));
            await Eventually.TrueAsync(() => cache.State != ModelCacheState.Loading, "a retry ended");
        }

        Assert.Equal(ModelCacheState.Ready, cache.State);
        int fetches = factory.Source.Fetches;
        if (timeToLive)
        {
            // A minute at a time: State reads Ready a moment before the slot arms the refresh (under its lock), so one
            // big step could be taken before the timer exists. Within two time-to-lives the refresh has loaded v2.
            factory.Source.Content = "v2";
            for (int minute = 0; minute < 20 && cache.GetModel().Content != "v2"; minute++)
            {
                factory.Time.Advance(TimeSpan.FromMinutes(1));
                await Task.Delay(5);
            }

            await Eventually.TrueAsync(() => cache.GetModel().Content == "v2", $"the time-to-live refresh loaded v2 ({factory.Source.Fetches - fetches} fetches since)");
            return;
        }

        for (int i = 0; i < 8 && cache.State != ModelCacheState.Unloaded; i++)
        {
            factory.Time.Advance(TimeSpan.FromMinutes(10));
            await Task.Delay(5);
        }

        await Eventually.TrueAsync(() => cache.State == ModelCacheState.Unloaded, $"unloaded when idle ({cache.State})");
        Assert.All(Created(factory.Loader), static m => Assert.Equal(1, m.DisposeCount));
    }

    [Fact]
    public async Task TheFirstSwap_UnderLeasesOnManyThreads_WithDisposalWhileTheRetirementIsMade_DisposesEachModelOnce_NeverUnderALease()
    {
        int usesAfterDispose = FakeModel.UsesAfterDispose;
        for (int round = 0; round < 20; round++)
        {
            var factory = new CacheFactory();
            ModelCache<FakeModel> cache = factory.Create();
            cache.GetModel();
            int stop = 0;
            int failures = 0;
            OnThreads(6, i =>
            {
                if (i == 0)
                {
                    factory.Source.Content = "v2";
                    cache.ReloadAsync(force: true).Wait(Bound);
                    cache.Dispose();
                    Volatile.Write(ref stop, 1);
                    return;
                }

                while (Volatile.Read(ref stop) == 0)
                {
                    try
                    {
                        using ModelLease<FakeModel> lease = cache.Acquire();
                        lease.Model.Predict();
                        Thread.SpinWait(50);
                        lease.Model.Predict();
                    }
                    catch (ObjectDisposedException) when (Volatile.Read(ref stop) == 1 || cache.State == ModelCacheState.Unloaded)
                    {
                    }
                    catch (Exception)
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
            });

            Assert.Equal(0, failures);
            await Eventually.TrueAsync(() => Created(factory.Loader).All(static m => m.DisposeCount == 1), $"round {round}: each model disposed once");
        }

        Assert.Equal(usesAfterDispose, FakeModel.UsesAfterDispose);
    }

    [Fact]
    public async Task ConcurrentReloads_OnePerLoadPipeline_StayOneLoadAndOneFollowUp()
    {
        var factory = new CacheFactory();
        using ModelCache<FakeModel> cache = factory.Create();
        cache.GetModel();
        using var release = new SemaphoreSlim(0);
        int held = 0;
        factory.Loader.BeforeLoad = async token =>
        {
            if (Interlocked.Exchange(ref held, 1) == 0)
            {
                await release.WaitAsync(token);
            }
        };
        factory.Source.Content = "v2";
        Task first = cache.ReloadAsync(force: true);
        await Eventually.TrueAsync(() => factory.Loader.Loads == 2, "the held reload started");
        var reloads = new ConcurrentBag<Task>();
        OnThreads(8, _ => reloads.Add(cache.ReloadAsync(force: true)));
        release.Release();
        await Task.WhenAll([first, .. reloads]).WaitAsync(Bound);
        Assert.InRange(factory.Loader.Loads, 2, 3);
        Assert.Equal(ModelCacheState.Ready, cache.State);
        Assert.Equal("v2", cache.GetModel().Content);
        await Eventually.TrueAsync(() => Created(factory.Loader).Count(static m => m.DisposeCount == 1) == Created(factory.Loader).Count - 1, "every model but the serving one disposed once");
    }

    [Fact]
    public void ANewNameAskedOfADisposedProvider_ThrowsObjectDisposed_AndMakesNoCache()
    {
        _files.Write("late");
        _files.Write("early");
        ServiceProvider services = _files.Services().BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        FakeModel early = provider.GetCache<FakeModel>("early").GetModel();
        services.Dispose();

        Assert.Equal(1, early.DisposeCount);
        Exception? thrown = Record.Exception(() => provider.GetCache<FakeModel>("late"));
        Assert.True(thrown is ObjectDisposedException, $"GetCache after disposal: {thrown?.GetType().Name ?? "a cache"} ({string.Join(", ", provider.Names)})");
        Assert.False(provider.TryGetCache("late", out _));
        Assert.DoesNotContain("late", provider.Names);
    }

    [Fact]
    public async Task ANameBeingMadeWhileTheProviderIsDisposed_ThrowsObjectDisposed_AndLeavesNoCacheOrModelUndisposed()
    {
        _files.Write("early");
        _files.Write("late");
        using var making = new SemaphoreSlim(0);
        using var proceed = new SemaphoreSlim(0);
        using ServiceProvider services = _files.Services(template: t => t.Configure((_, _, name) =>
        {
            if (name == "late")
            {
                making.Release();
                Assert.True(proceed.Wait(Bound));
            }
        })).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        FakeModel early = provider.GetCache<FakeModel>("early").GetModel();

        // "late" is being made (its options are being configured) when the provider is disposed, twice.
        Task<FakeModel> late = Task.Run(() => provider.GetCache<FakeModel>("late").GetModel());
        Assert.True(await making.WaitAsync(Bound));
        ((IDisposable)provider).Dispose();
        proceed.Release();
        Exception? thrown = await Record.ExceptionAsync(() => late.WaitAsync(Bound));

        Assert.True(thrown is ObjectDisposedException, $"a name made while the provider was disposed: {thrown?.GetType().Name ?? "served"}; {Created(_files.Loader).Count} models loaded");
        Assert.Equal(1, early.DisposeCount);
        Assert.All(Created(_files.Loader), static m => Assert.Equal(1, m.DisposeCount));
        ((IDisposable)provider).Dispose();
        Assert.All(Created(_files.Loader), static m => Assert.Equal(1, m.DisposeCount));
    }

    [Fact]
    public void HostileNames_FromManyThreads_AreRefused_AndNoneIsKeptOrLoaded()
    {
        _files.Write("ok");
        string[] hostile = ["", " ", "..", "../ok", "ok/../ok", "a/b", "a\\b", "ok\0", "ok\n", "C:ok", "%2e%2e", "ok ", new string('a', 5000), "\u00e9t\u00e9", "ok?", "*"];
        using ServiceProvider services = _files.Services().BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        int accepted = 0;
        var wrong = new ConcurrentBag<string>();
        OnThreads(8, i =>
        {
            for (int k = 0; k < 50; k++)
            {
                string name = hostile[(i + k) % hostile.Length];
                try
                {
                    _ = k % 2 == 0 ? provider.GetCache<FakeModel>(name) : provider.GetCache(name);
                    Interlocked.Increment(ref accepted);
                    wrong.Add($"accepted '{ModelNames.IsValid(name)}:{name.Length}'");
                }
                catch (ArgumentException)
                {
                }
                catch (ModelNotFoundException)
                {
                }
                catch (Exception ex)
                {
                    wrong.Add(ex.GetType().Name);
                }

                if (provider.TryGetCache(name, out _))
                {
                    wrong.Add($"TryGetCache found '{name.Length}'");
                }
            }
        });

        Assert.True(wrong.IsEmpty, string.Join(", ", wrong.Distinct()));
        Assert.Equal(0, accepted);
        Assert.Empty(provider.Names);
        Assert.Equal(0, _files.Loader.Loads);
        Assert.Equal("ok", provider.GetCache<FakeModel>("ok").GetModel().Content[..2]);
    }

    [Fact]
    public async Task RollbacksAndReloads_UnloadFirst_UnderLeasesOnManyThreads_DisposeEachModelOnce_NeverUnderALease()
    {
        int usesAfterDispose = FakeModel.UsesAfterDispose;
        var factory = new CacheFactory();
        ModelCache<FakeModel> cache = factory.Create(o =>
        {
            o.SwapMode = ModelSwapMode.UnloadFirst;
            o.RollbackRetention = ModelRollbackRetention.Artifact;
        });
        cache.GetModel();
        int stop = 0;
        int failures = 0;
        var kinds = new ConcurrentBag<string>();
        OnThreads(6, i =>
        {
            if (i < 2)
            {
                for (int k = 0; k < 30; k++)
                {
                    try
                    {
                        if (i == 0)
                        {
                            factory.Source.Content = $"v{k + 2}";
                            cache.ReloadAsync(force: true).Wait(Bound);
                        }
                        else
                        {
                            cache.RollbackAsync().Wait(Bound);
                        }
                    }
                    catch (AggregateException ex) when (ex.InnerException is ModelLoadException or InvalidOperationException)
                    {
                        // A rollback with nothing to roll back to, or refused while another load runs.
                    }
                    catch (Exception ex)
                    {
                        Interlocked.Increment(ref failures);
                        kinds.Add(ex.GetBaseException().GetType().Name + ": " + ex.GetBaseException().Message);
                    }
                }

                Interlocked.Increment(ref stop);
                return;
            }

            while (Volatile.Read(ref stop) < 2)
            {
                try
                {
                    using ModelLease<FakeModel> lease = cache.Acquire();
                    lease.Model.Predict();
                    Thread.SpinWait(20);
                    lease.Model.Predict();
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref failures);
                    kinds.Add(ex.GetType().Name);
                }
            }
        });

        Assert.True(failures == 0, string.Join(" | ", kinds.Distinct()));
        Assert.Equal(ModelCacheState.Ready, cache.State);
        await cache.DisposeAsync();
        await Eventually.TrueAsync(() => Created(factory.Loader).All(static m => m.DisposeCount == 1), "each model disposed once");
        Assert.Equal(usesAfterDispose, FakeModel.UsesAfterDispose);
    }

    [Fact]
    public async Task BudgetEvictionsDuringLoads_OnManyThreads_NeverDisposeALeasedModel_AndLeakNone()
    {
        int usesAfterDispose = FakeModel.UsesAfterDispose;
        const int Names = 6;
        for (int n = 0; n < Names; n++)
        {
            _files.Write($"b{n}", bytes: 100);
        }

        ServiceProvider services = _files.Services(
            template: t => t.Configure(o =>
            {
                o.EvictionDrainDelay = TimeSpan.Zero;
                o.LoadTimeout = TimeSpan.FromSeconds(5);
            }),
            templateOptions: o => o.MemoryBudgetBytes = 200).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        int failures = 0;
        var kinds = new ConcurrentBag<string>();
        OnThreads(6, i =>
        {
            for (int k = 0; k < 40; k++)
            {
                string name = $"b{(i + k) % Names}";
                try
                {
                    using ModelLease<FakeModel> lease = provider.GetCache<FakeModel>(name).Acquire();
                    if (!lease.Model.Predict().StartsWith(name, StringComparison.Ordinal))
                    {
                        Interlocked.Increment(ref failures);
                        kinds.Add("wrong model");
                    }
                }
                catch (ModelLoadException)
                {
                    // No room within the load timeout: the budget is full of leased models.
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref failures);
                    kinds.Add(ex.GetType().Name);
                }
            }
        });

        Assert.True(failures == 0, string.Join(" | ", kinds.Distinct()));
        ModelMemoryBudgetStatus budget = Assert.Single(provider.GetMemoryBudgets());
        Assert.True(budget.UsedBytes <= 200, $"{budget.UsedBytes} of 200 bytes");
        await services.DisposeAsync();
        await Eventually.TrueAsync(() => Created(_files.Loader).All(static m => m.DisposeCount == 1), "each model disposed once");
        Assert.Equal(usesAfterDispose, FakeModel.UsesAfterDispose);
    }

    [Fact]
    public async Task TheFirstSwap_RacingWithDisposal_UnderLeases_DisposesEachModelOnce_NeverUnderALease()
    {
        int usesAfterDispose = FakeModel.UsesAfterDispose;
        int failures = 0;
        var kinds = new ConcurrentBag<string>();
        for (int round = 0; round < 30; round++)
        {
            var factory = new CacheFactory();
            ModelCache<FakeModel> cache = factory.Create();
            cache.GetModel();
            factory.Source.Content = "v2";
            int disposing = 0;
            int stop = 0;
            OnThreads(6, i =>
            {
                if (i == 0)
                {
                    try
                    {
                        cache.ReloadAsync(force: true).Wait(Bound);
                    }
                    catch (Exception)
                    {
                        // Cancelled or refused by the disposal racing with it.
                    }

                    return;
                }

                if (i == 1)
                {
                    Thread.SpinWait(round * 200);
                    Volatile.Write(ref disposing, 1);
                    cache.Dispose();
                    Thread.Sleep(1);
                    Volatile.Write(ref stop, 1);
                    return;
                }

                while (Volatile.Read(ref stop) == 0)
                {
                    try
                    {
                        using ModelLease<FakeModel> lease = cache.Acquire();
                        lease.Model.Predict();
                        Thread.SpinWait(20);
                        lease.Model.Predict();
                    }
                    catch (ObjectDisposedException) when (Volatile.Read(ref disposing) == 1)
                    {
                    }
                    catch (Exception ex)
                    {
                        Interlocked.Increment(ref failures);
                        kinds.Add(ex.GetType().Name);
                    }
                }
            });

            await Eventually.TrueAsync(() => Created(factory.Loader).All(static m => m.DisposeCount == 1), $"round {round}: each model disposed once");
        }

        Assert.True(failures == 0, string.Join(" | ", kinds.Distinct()));
        Assert.Equal(usesAfterDispose, FakeModel.UsesAfterDispose);
    }
}
