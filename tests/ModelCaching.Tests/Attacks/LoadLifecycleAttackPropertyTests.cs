using System.Collections.Concurrent;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Loading;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Attacks;

/// <summary>
/// Model-based (FsCheck): random sequences of GetModel, Acquire, Release, Reload, Rollback, Invalidate, a change of the
/// source, a broken or working loader, fake time moving on, and Dispose, on the real cache, whose runner is made at a
/// request and dropped when idle. Checked after every step, once the loads it started ended: the serving version is what
/// the steps say (a failed reload keeps the last good one), at most one load ran at a time, no model was disposed while
/// leased, no runner is kept by an idle open cache, and after Dispose every model built is disposed once its leases end.
/// </summary>
[Collection(nameof(AbandonedThreadTests))]
public sealed class LoadLifecycleAttackPropertyTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private enum Op
    {
        Get,
        Acquire,
        Release,
        Reload,
        Rollback,
        Invalidate,
        Change,
        Break,
        Mend,
        Advance,
        Dispose,
    }

    [Fact]
    public void Random_lifecycles_on_the_real_cache_keep_their_invariants_after_every_step()
    {
        Gen<Op[]> sequences = Gen.ArrayOf(Gen.Frequency(
            (6, Gen.Constant(Op.Get)),
            (3, Gen.Constant(Op.Acquire)),
            (3, Gen.Constant(Op.Release)),
            (4, Gen.Constant(Op.Reload)),
            (2, Gen.Constant(Op.Rollback)),
            (2, Gen.Constant(Op.Invalidate)),
            (2, Gen.Constant(Op.Change)),
            (2, Gen.Constant(Op.Break)),
            (2, Gen.Constant(Op.Mend)),
            (3, Gen.Constant(Op.Advance)),
            (1, Gen.Constant(Op.Dispose))));
        Config config = Config.QuickThrowOnFailure.WithMaxTest(150).WithReplay(new Replay(new Rnd(20261207UL, 0x9E3779B97F4A7C15UL), null));
        Prop.ForAll(Arb.From(sequences), static ops =>
        {
            string? failure = Run(ops);
            Assert.True(failure is null, $"[{string.Join(", ", ops)}]: {failure}");
        }).Check(config);
    }

    // Runs one sequence; the first broken invariant, or null.
    private static string? Run(Op[] ops)
    {
        var time = new FakeTimeProvider();
        var factory = new LifecycleFactory();
        var cache = new ModelCache<FakeModel>(
            "lifecycle",
            new ModelOptions<FakeModel>
            {
                Factory = factory,
                DrainDelay = TimeSpan.Zero,
                RollbackRetention = ModelRollbackRetention.Generation,
                RetryBaseDelay = TimeSpan.FromSeconds(5),
                FailureCooldown = TimeSpan.FromSeconds(5),
            },
            time);
        var leases = new List<ModelLease<FakeModel>>();
        bool disposed = false;
        try
        {
            for (int step = 0; step < ops.Length; step++)
            {
                Op op = ops[step];
                ModelVersion? before = cache.Version;
                string? broke = Apply(op, cache, factory, time, leases, ref disposed, before);
                if (broke is not null)
                {
                    return $"step {step} ({op}): {broke}";
                }

                // Quiet: the loads this step started (a change, a retry after time moved) ended.
                if (!disposed && !SpinWait.SpinUntil(() => LoadRunner<FakeModel>.Current(cache) is null && factory.Running == 0, Bound))
                {
                    return $"step {step} ({op}): an idle open cache kept its runner (or a load never ended)";
                }

                if (factory.Overlaps != 0)
                {
                    return $"step {step} ({op}): two loads ran at once";
                }

                if (leases.FindIndex(static lease => lease.Model.IsDisposed) is int bad and >= 0)
                {
                    return $"step {step} ({op}): the leased model {leases[bad].Model.Content} was disposed";
                }

                if (!disposed && cache.Version is { } serving && cache.State is not (ModelCacheState.Ready or ModelCacheState.Degraded))
                {
                    return $"step {step} ({op}): version {serving.Id} serves in state {cache.State}";
                }
            }

            // Disposed (now, if no step did) and every lease ended: every model built is disposed, each once.
            foreach (ModelLease<FakeModel> lease in leases)
            {
                lease.Dispose();
            }

            leases.Clear();
            cache.Dispose();
            if (!SpinWait.SpinUntil(() => factory.Running == 0 && factory.Made.All(static model => model.IsDisposed), Bound))
            {
                return "after Dispose a model built was never disposed";
            }

            return factory.Made.FirstOrDefault(static model => model.DisposeCount != 1) is { } twice ? $"{twice.Content} was disposed {twice.DisposeCount} times" : null;
        }
        finally
        {
            foreach (ModelLease<FakeModel> lease in leases)
            {
                lease.Dispose();
            }

            cache.Dispose();
        }
    }

    private static string? Apply(Op op, ModelCache<FakeModel> cache, LifecycleFactory factory, FakeTimeProvider time, List<ModelLease<FakeModel>> leases, ref bool disposed, ModelVersion? before)
    {
        try
        {
            switch (op)
            {
                case Op.Get:
                    FakeModel model = cache.GetModel();
                    return model.IsDisposed ? $"GetModel returned the disposed model {model.Content}" : disposed ? "GetModel answered after Dispose" : null;
                case Op.Acquire:
                    ModelLease<FakeModel> lease = cache.Acquire();
                    leases.Add(lease);
                    return disposed ? "Acquire answered after Dispose" : null;
                case Op.Release:
                    if (leases.Count > 0)
                    {
                        leases[0].Dispose();
                        leases.RemoveAt(0);
                    }

                    return null;
                case Op.Reload:
                    ModelVersion reloaded = cache.ReloadAsync().WaitAsync(Bound).GetAwaiter().GetResult();
                    return disposed ? "a reload ran after Dispose" : cache.Version?.Id != reloaded.Id ? $"the reload returned {reloaded.Id} but {cache.Version?.Id} serves" : null;
                case Op.Rollback:
                    ModelVersion back = cache.RollbackAsync().WaitAsync(Bound).GetAwaiter().GetResult();
                    return cache.Version?.Id != back.Id ? $"the rollback returned {back.Id} but {cache.Version?.Id} serves" : null;
                case Op.Invalidate:
                    cache.Invalidate();
                    return !disposed && cache.Version is not null ? "a version serves after Invalidate" : null;
                case Op.Change:
                    factory.Change();
                    return null;
                case Op.Break:
                    factory.Broken = true;
                    return null;
                case Op.Mend:
                    factory.Broken = false;
                    return null;
                case Op.Advance:
                    time.Advance(TimeSpan.FromSeconds(7));
                    return null;
                default:
                    cache.Dispose();
                    disposed = true;
                    return null;
            }
        }
        catch (ModelLoadException) when (op is Op.Get or Op.Acquire or Op.Reload or Op.Rollback)
        {
            // A broken loader: a failed reload keeps the last good version serving (fail-safe).
            return op is Op.Reload or Op.Rollback && before is not null && cache.Version?.Id != before.Id && !disposed
                ? $"a failed {op} replaced version {before.Id} with {cache.Version?.Id}"
                : null;
        }
        catch (InvalidOperationException) when (op == Op.Rollback && !disposed)
        {
            return null; // nothing to roll back to: documented
        }
        catch (ObjectDisposedException) when (disposed)
        {
            return null;
        }
        catch (AggregateException ex) when (ex.InnerException is ObjectDisposedException && disposed)
        {
            return null;
        }
        catch (Exception ex)
        {
            return $"{ex.GetType().Name}: {ex.Message}";
        }
    }

    /// <summary>A factory whose content changes on Change, that can be broken, and counts the loads running at once.</summary>
    private sealed class LifecycleFactory : IModelFactory<FakeModel>
    {
        private CancellationTokenSource _changes = new();
        private int _calls;
        private int _running;
        private int _overlaps;

        public volatile bool Broken;

        public ConcurrentQueue<FakeModel> Made { get; } = new();

        public int Running => Volatile.Read(ref _running);

        public int Overlaps => Volatile.Read(ref _overlaps);

        public string Description => "factory:lifecycle";

        public ValueTask<FakeModel> CreateAsync(CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _running) > 1)
            {
                Interlocked.Increment(ref _overlaps);
            }

            try
            {
                Thread.SpinWait(500);
                if (Broken)
                {
                    throw new IOException("broken source");
                }

                var model = new FakeModel($"m{Interlocked.Increment(ref _calls)}");
                Made.Enqueue(model);
                return ValueTask.FromResult(model);
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }

        public IChangeToken? GetChangeToken() => new CancellationChangeToken(Volatile.Read(ref _changes).Token);

        public void Change() => Interlocked.Exchange(ref _changes, new CancellationTokenSource()).Cancel();
    }
}
