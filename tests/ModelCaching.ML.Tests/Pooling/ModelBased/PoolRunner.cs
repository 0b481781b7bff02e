using System.Globalization;
using System.Text;
using Microsoft.ML;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Pooling.ModelBased;

/// <summary>
/// Runs one <see cref="PoolSequence"/> against a real <see cref="PredictionPool{TData, TPrediction}"/> over a real ML.NET
/// model that swaps between iris.zip and taxi-fare.zip, and checks it against a small model after every step: which
/// generation serves, the leases held (and their engines and generations), the counters the pool must agree with.
/// </summary>
/// <remarks>
/// Every step is synchronous: a step of the second thread (<see cref="PoolWorker"/>) is handed over and waited for with a
/// bound, so the checks after it see a quiet pool. A call the model says must wait for an engine (Wait policy, every engine
/// of the serving generation leased) runs on the worker: it must not end within <see cref="NotBlockedWithin"/>, and must
/// end once the test gives one lease back.
/// </remarks>
public sealed class PoolRunner : IDisposable
{
    private static readonly TimeSpan CallBound = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan NotBlockedWithin = TimeSpan.FromMilliseconds(50);

    private readonly PoolSequence _sequence;
    private readonly TempModelFolder _folder = TestModels.CopyToTemp(TestModels.IrisPath);
    private readonly ModelCache<ITransformer> _cache;
    private readonly PredictionPool<PoolInput, PoolPrediction> _pool;
    private readonly PoolWorker _worker = new();
    private readonly List<Held> _held = [];
    private readonly Dictionary<PooledEngine<PoolInput, PoolPrediction>, long> _seenIn = new(ReferenceEqualityComparer.Instance);
    private readonly StringBuilder _trace = new();
    private readonly List<string> _violations = [];
    private readonly PoolCoverage _coverage;

    // The model: what the file holds, how many generations the pool made, the number of the one serving (null when the
    // pool has none for the cache's model: before the first call, after a swap, an unload or the pool's disposal), faults.
    private ModelKind _fileKind = ModelKind.Iris;
    private long _generations;
    private long? _serving;
    private long _faulted;
    private bool _poolDisposed;
    private bool _workerHung;

    private PoolRunner(PoolSequence sequence, PoolCoverage coverage)
    {
        _sequence = sequence;
        _coverage = coverage;
        _cache = PoolFactory.Cache<PoolInput, PoolPrediction>(_folder.FilePath, "pool-mbt");
        _pool = PoolFactory.Pool<PoolInput, PoolPrediction>(_cache, o =>
        {
            o.MaximumEngines = sequence.MaximumEngines;
            o.ExhaustionPolicy = sequence.Policy;

            // Longer than any bound here: a call that waits ends because an engine came back, never by timing out.
            o.WaitTimeout = TimeSpan.FromSeconds(60);
        });
    }

    /// <summary>Runs <paramref name="sequence"/>; the failure (sequence, trace, broken invariants), or <see langword="null"/>.</summary>
    public static string? Run(PoolSequence sequence, PoolCoverage? coverage = null)
    {
        using var runner = new PoolRunner(sequence, coverage ?? new PoolCoverage());
        return runner.RunAll();
    }

    private string? RunAll()
    {
        for (int step = 0; step < _sequence.Ops.Count && _violations.Count == 0; step++)
        {
            PoolOp op = _sequence.Ops[step];
            _trace.Append(CultureInfo.InvariantCulture, $"  {step + 1,3}. {op}");
            try
            {
                Execute(op, step);
            }
            catch (Exception ex)
            {
                Violation($"step {step + 1} threw unexpectedly: {ex}");
            }

            _trace.AppendLine(CultureInfo.InvariantCulture, $"   [{StateText()}]");
            if (_violations.Count == 0)
            {
                CheckInvariants($"after step {step + 1}");
            }
        }

        if (_violations.Count == 0)
        {
            Finish();
        }

        return _violations.Count == 0 ? null : $"{_sequence}{Environment.NewLine}trace:{Environment.NewLine}{_trace}broken:{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", _violations)}";
    }

    private void Execute(PoolOp op, int step)
    {
        switch (op.Kind)
        {
            case PoolOpKind.Predict or PoolOpKind.PredictThrowingInput or PoolOpKind.PredictThrowingConstructor or PoolOpKind.Rent:
                if (_poolDisposed)
                {
                    CallOnDisposedPool(op);
                }
                else
                {
                    PoolCall(op, step);
                }

                break;
            case PoolOpKind.Release:
                Release(op, twice: false);
                break;
            case PoolOpKind.ReleaseTwice:
                Release(op, twice: true);
                break;
            case PoolOpKind.UseLease:
                UseLease(op, step);
                break;
            case PoolOpKind.Reload:
                Reload();
                break;
            case PoolOpKind.Rollback:
                Rollback();
                break;
            case PoolOpKind.Unload:
                _cache.Invalidate();
                _serving = null;
                _trace.Append(" -> unloaded");
                break;
            case PoolOpKind.DisposePool:
                _pool.Dispose();
                _poolDisposed = true;
                _serving = null;
                _trace.Append(" -> disposed");
                break;
        }
    }

    // ----- Calls on the pool -----

    private void PoolCall(PoolOp op, int step)
    {
        // Whether the call takes an engine at all: a TPrediction constructor that throws in Predict(input) off the fast
        // path, or in Predict(input, ref null), throws before the pool asks for its generation.
        bool takesEngine = !(op.Kind == PoolOpKind.PredictThrowingConstructor && op.Form is PredictForm.New or PredictForm.RefNull);
        bool blocks = takesEngine && _sequence.Policy == PoolExhaustionPolicy.Wait && _serving is { } serving && HeldIn(serving) >= _sequence.MaximumEngines;
        PredictionPoolStatistics before = _pool.GetStatistics();
        int extraIfSlowPath = ExtraOnSlowPath();
        var outcome = new Outcome();
        int input = op.Kind == PoolOpKind.Rent ? 0 : op.Input;
        if (blocks)
        {
            _trace.Append(" (every engine leased: on the worker, must wait)");
            RunBlocking(() => Call(op, input, outcome));
            _coverage.Count("a call waited for a lease to come back");
        }
        else if (op.OnWorker)
        {
            RunOnWorker(() => Call(op, input, outcome));
        }
        else
        {
            Call(op, input, outcome);
        }

        if (_violations.Count != 0)
        {
            return;
        }

        if (takesEngine && _serving is null)
        {
            _serving = ++_generations;
        }

        PredictionPoolStatistics after = _pool.GetStatistics();
        ModelKind? kind = PoolExpectations.KindOf(_cache.Version);
        if (outcome.CellInUseAfter)
        {
            Violation($"the calling thread's kept engine is still marked in use after {op} returned");
        }

        // What the call must have thrown, and how many engines it must have dropped.
        (string? error, int faults) = op.Kind switch
        {
            PoolOpKind.PredictThrowingInput => ("boom: the input could not be read", 1),
            PoolOpKind.PredictThrowingConstructor => op.Form switch
            {
                PredictForm.New => ("constructor boom", outcome.KeptEngine ? 1 : 0), // the fast path made the object with the engine taken
                PredictForm.Batch => ("constructor boom", 1),                         // made inside the rented engine's try
                PredictForm.RefNull => ("constructor boom", 0),                       // made before anything
                _ => (null, 0),                                                       // an existing output: no object to make
            },
            _ => (null, 0),
        };
        _faulted += faults;
        _coverage.Count(faults != 0 ? "an engine dropped by a throwing call" : null);
        _coverage.Count(outcome.KeptEngine && op.Kind != PoolOpKind.Rent && op.Form != PredictForm.Batch ? "a call on the thread's kept engine" : null);
        _coverage.Count(outcome.KeptEngine && faults != 0 ? "the kept engine dropped by a throwing call" : null);
        _coverage.Count(op.OnWorker && _held.Count > 0 ? "a call on the worker while leases are held" : null);
        if (error is null && outcome.Error is not null)
        {
            Violation($"{op} threw: {outcome.Error}");
        }
        else if (error is not null && (outcome.Error is null || !outcome.Error.ToString().Contains(error, StringComparison.Ordinal)))
        {
            Violation($"{op} should have thrown \"{error}\" but {(outcome.Error is null ? "returned" : $"threw {outcome.Error}")}");
        }

        if (after.EnginesFaulted - before.EnginesFaulted != faults)
        {
            Violation($"{op} dropped {after.EnginesFaulted - before.EnginesFaulted} engine(s) as faulted, expected {faults}{(op.Kind == PoolOpKind.PredictThrowingConstructor ? $" (kept engine on the fast path: {outcome.KeptEngine})" : string.Empty)}");
        }

        // Waiting and extra engines, as PoolExhaustionPolicy says.
        long waits = after.Waits - before.Waits, extras = after.ExtraEnginesCreated - before.ExtraEnginesCreated;
        long expectedWaits = blocks ? 1 : 0;
        long expectedExtras = _sequence.Policy == PoolExhaustionPolicy.Wait || !takesEngine || (outcome.KeptEngine && op.Form != PredictForm.Batch && op.Kind != PoolOpKind.Rent) ? 0 : extraIfSlowPath;
        if (waits != expectedWaits)
        {
            Violation($"{op} waited {waits} time(s), expected {expectedWaits} ({_sequence.Policy}, {HeldText()})");
        }

        _coverage.Count(extras != 0 ? "an extra engine created" : null);
        if (extras != expectedExtras)
        {
            Violation($"{op} created {extras} extra engine(s), expected {expectedExtras} ({_sequence.Policy}, {HeldText()})");
        }

        if (outcome.Features is { } features && kind is { } serving2)
        {
            // Two inputs for a batch: the sample and the next one.
            for (int i = 0; i < features.Length; i++)
            {
                float[] expected = PoolExpectations.Features(serving2, (input + i) % PoolOp.Inputs);
                if (!features[i].AsSpan().SequenceEqual(expected))
                {
                    Violation($"{op} predicted [{Text(features[i])}], but {serving2} serves and predicts [{Text(expected)}] for input {(input + i) % PoolOp.Inputs}");
                }
            }
        }

        if (outcome.Lease is { } lease)
        {
            Rented(lease, step);
        }

        _trace.Append(outcome.Error is null ? " -> ok" : $" -> threw {outcome.Error.GetType().Name}");
    }

    /// <summary>Whether a rent off the fast path (Rent, a batch, a predict without a kept engine) must build an extra engine under CreateExtra.</summary>
    private int ExtraOnSlowPath()
    {
        if (_serving is null || _pool.ServingGeneration is not { } generation)
        {
            return 0; // a new generation has no engine yet: the first is never extra
        }

        // No idle engine in the slots and the maximum alive (leased, or kept idle by threads: those are not taken back
        // under CreateExtra): one more is built, beyond the maximum.
        return PoolProbe.IdleInSlots(generation).Count == 0 && generation.LiveEngines >= _sequence.MaximumEngines ? 1 : 0;
    }

    private void Call(PoolOp op, int input, Outcome outcome)
    {
        // On the calling thread: whether it keeps an engine of the serving generation that Predict's fast path takes.
        EngineCell? cell = EngineCell.Get(_pool.PoolIndex);
        outcome.KeptEngine = cell is { InUse: 0, Revoked: 0, Engine: not null }
            && _pool.ServingGeneration is { } generation
            && generation.Id == cell.GenerationId
            && ReferenceEquals(_cache.Version, generation.Version);
        var existing = new PoolPrediction();
        try
        {
            switch (op.Kind)
            {
                case PoolOpKind.Rent:
                    outcome.Lease = _pool.Rent();
                    break;
                case PoolOpKind.Predict:
                    outcome.Features = Predict(op.Form, PoolInput.Sample(input), existing);
                    break;
                case PoolOpKind.PredictThrowingInput:
                    outcome.Features = Predict(op.Form, new PoolInput { Throw = true }, existing);
                    break;
                case PoolOpKind.PredictThrowingConstructor:
                    using (PoolPrediction.ThrowingOnThisThread())
                    {
                        outcome.Features = Predict(op.Form, PoolInput.Sample(input), existing);
                    }

                    break;
            }
        }
        catch (Exception ex)
        {
            outcome.Error = ex;
        }
        finally
        {
            outcome.CellInUseAfter = EngineCell.Get(_pool.PoolIndex) is { InUse: not 0 };
        }

        float[][] Predict(PredictForm form, PoolInput data, PoolPrediction output)
        {
            switch (form)
            {
                case PredictForm.New:
                    return [_pool.Predict(data).Features];
                case PredictForm.Ref:
                    _pool.Predict(data, ref output);
                    return [output.Features];
                case PredictForm.RefNull:
                    PoolPrediction made = null!;
                    _pool.Predict(data, ref made);
                    return [made.Features];
                default:
                    PoolInput[] inputs = [data, data.Throw ? data : PoolInput.Sample((input + 1) % PoolOp.Inputs)];
                    var outputs = new PoolPrediction[2];
                    _pool.Predict(inputs, outputs);
                    return [.. outputs.Select(static o => o.Features)];
            }
        }
    }

    private void Rented(PredictionEngineLease<PoolInput, PoolPrediction> lease, int step)
    {
        PooledEngine<PoolInput, PoolPrediction> pooled = PoolProbe.EngineOf(lease);
        EngineGeneration<PoolInput, PoolPrediction> generation = pooled.Generation;
        if (!ReferenceEquals(generation, _pool.ServingGeneration))
        {
            Violation($"Rent() handed out an engine of generation {generation.Number}, but generation {_pool.ServingGeneration?.Number.ToString(CultureInfo.InvariantCulture) ?? "none"} serves");
        }

        if (!ReferenceEquals(lease.Engine, pooled.Engine))
        {
            Violation("a new lease's Engine is not the engine it holds");
        }

        if (_held.FirstOrDefault(h => ReferenceEquals(h.Engine, pooled)) is { } other)
        {
            Violation($"Rent() handed out the engine that the lease of step {other.Step + 1} holds");
        }

        Seen(pooled, "Rent()");
        _held.Add(new Held(lease, pooled, generation, PoolExpectations.KindOf(generation.Version), step));
        _coverage.Count(_held.Count(h => ReferenceEquals(h.Generation, generation)) == _sequence.MaximumEngines ? "every engine of a generation leased" : null);
    }

    private void CallOnDisposedPool(PoolOp op)
    {
        ModelCacheStatistics cacheBefore = _cache.GetStatistics();
        PredictionPoolStatistics before = _pool.GetStatistics();
        var outcome = new Outcome();
        if (op.OnWorker)
        {
            RunOnWorker(() => Call(op, op.Input, outcome));
        }
        else
        {
            Call(op, op.Input, outcome);
        }

        // Predict(input) makes its object before it looks at the pool, so a throwing constructor may surface first.
        bool constructorFirst = op.Kind == PoolOpKind.PredictThrowingConstructor && op.Form is PredictForm.New or PredictForm.RefNull;
        if (outcome.Error is not ObjectDisposedException && !(constructorFirst && outcome.Error is InvalidOperationException { Message: "constructor boom" }))
        {
            Violation($"{op} on a disposed pool should throw ObjectDisposedException but {(outcome.Error is null ? "returned" : $"threw {outcome.Error}")}");
        }

        if (outcome.Lease is { } lease)
        {
            lease.Dispose();
        }

        PredictionPoolStatistics after = _pool.GetStatistics();
        ModelCacheStatistics cacheAfter = _cache.GetStatistics();
        if (after.EnginesCreated != before.EnginesCreated || after.Generations != before.Generations || cacheAfter.Loads != cacheBefore.Loads || cacheAfter.State != cacheBefore.State)
        {
            Violation($"{op} on a disposed pool changed something: engines created {before.EnginesCreated} -> {after.EnginesCreated}, generations {before.Generations} -> {after.Generations}, cache loads {cacheBefore.Loads} -> {cacheAfter.Loads}, state {cacheBefore.State} -> {cacheAfter.State}");
        }

        _trace.Append(CultureInfo.InvariantCulture, $" -> threw {outcome.Error?.GetType().Name ?? "nothing"}");
        _coverage.Count("a call on the disposed pool");
    }

    // ----- Leases -----

    private void Release(PoolOp op, bool twice)
    {
        if (_held.Count == 0)
        {
            _trace.Append(" -> no lease held");
            return;
        }

        Held held = _held[op.Arg % _held.Count];
        _held.Remove(held);
        Action dispose = () => held.Lease.Dispose();
        if (op.OnWorker)
        {
            RunOnWorker(dispose);
        }
        else
        {
            dispose();
        }

        _trace.Append(CultureInfo.InvariantCulture, $" -> the lease of step {held.Step + 1} (generation {held.Generation.Number})");
        _coverage.Count(!ReferenceEquals(held.Generation, _pool.ServingGeneration) ? "a lease of a retired generation given back" : null);
        if (twice)
        {
            _coverage.Count("a lease disposed twice");
            PredictionPoolStatistics before = _pool.GetStatistics();
            int idleBefore = IdleEngines().Count;
            PredictionEngineLease<PoolInput, PoolPrediction> copy = held.Lease;
            copy.Dispose();
            PredictionPoolStatistics after = _pool.GetStatistics();
            if (after.EnginesDisposed != before.EnginesDisposed || after.EnginesCreated != before.EnginesCreated || IdleEngines().Count != idleBefore)
            {
                Violation($"a second dispose of a lease changed the pool: engines disposed {before.EnginesDisposed} -> {after.EnginesDisposed}, idle {idleBefore} -> {IdleEngines().Count}");
            }
        }

        try
        {
            _ = held.Lease.Engine;
            Violation("a disposed lease still hands out its engine");
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void UseLease(PoolOp op, int step)
    {
        if (_held.Count == 0)
        {
            _trace.Append(" -> no lease held");
            return;
        }

        Held held = _held[op.Arg % _held.Count];
        int input = step % PoolOp.Inputs;
        float[] features = held.Lease.Engine.Predict(PoolInput.Sample(input)).Features;
        _trace.Append(CultureInfo.InvariantCulture, $" -> the lease of step {held.Step + 1} (generation {held.Generation.Number}, {held.Kind})");
        _coverage.Count(!ReferenceEquals(held.Generation, _pool.ServingGeneration) ? "a retired generation's leased engine used" : null);
        if (held.Kind is not { } kind || !features.AsSpan().SequenceEqual(PoolExpectations.Features(kind, input)))
        {
            Violation($"the engine of the lease of step {held.Step + 1} (generation {held.Generation.Number}, {held.Kind}) predicted [{Text(features)}] for input {input}");
        }
    }

    // ----- The cache -----

    private void Reload()
    {
        ModelKind next = (PoolExpectations.KindOf(_cache.Version) ?? _fileKind) == ModelKind.Iris ? ModelKind.Taxi : ModelKind.Iris;
        _folder.Replace(PoolExpectations.PathOf(next));
        _fileKind = next;
        Task<ModelVersion> reload = _cache.ReloadAsync(force: true);
        if (!reload.Wait(CallBound))
        {
            Violation("ReloadAsync did not end");
            return;
        }

        _serving = null;
        if (PoolExpectations.KindOf(_cache.Version) != next)
        {
            Violation($"after a reload to {next} the cache serves {PoolExpectations.KindOf(_cache.Version)}");
        }

        _trace.Append(CultureInfo.InvariantCulture, $" -> {next} (cache generation {_cache.Version?.Generation})");
    }

    private void Rollback()
    {
        ModelVersion? before = _cache.Version;
        try
        {
            Task<ModelVersion> rollback = _cache.RollbackAsync();
            if (!((IAsyncResult)rollback).AsyncWaitHandle.WaitOne(CallBound))
            {
                Violation("RollbackAsync did not end");
                return;
            }

            rollback.GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is InvalidOperationException or ModelLoadException)
        {
            _trace.Append(CultureInfo.InvariantCulture, $" -> refused ({ex.GetType().Name})");
            if (!ReferenceEquals(before, _cache.Version))
            {
                Violation("a refused rollback changed the version serving");
            }

            return;
        }

        if (!ReferenceEquals(before, _cache.Version))
        {
            _serving = null;
            _coverage.Count("a rollback");
        }

        // As an operator would after rolling back: the file goes back to the version serving. Otherwise the next load
        // after an unload would be refused (the file holds the content rolled back from), which is the cache's business.
        if (PoolExpectations.KindOf(_cache.Version) is { } serving && serving != _fileKind)
        {
            _folder.Replace(PoolExpectations.PathOf(serving));
            _fileKind = serving;
        }

        _trace.Append(CultureInfo.InvariantCulture, $" -> {PoolExpectations.KindOf(_cache.Version)} (cache generation {_cache.Version?.Generation})");
    }

    // ----- Threads -----

    private void RunOnWorker(Action action)
    {
        if (_workerHung)
        {
            Violation("the worker is still stuck in an earlier step");
            return;
        }

        Task run = _worker.Start(action);
        if (!((IAsyncResult)run).AsyncWaitHandle.WaitOne(CallBound))
        {
            _workerHung = true;
            Violation($"a step on the worker did not end within {CallBound.TotalSeconds} s ({_sequence.Policy}, {HeldText()})");
        }
    }

    private void RunBlocking(Action action)
    {
        if (_workerHung)
        {
            Violation("the worker is still stuck in an earlier step");
            return;
        }

        Task run = _worker.Start(action);
        WaitHandle done = ((IAsyncResult)run).AsyncWaitHandle;
        if (done.WaitOne(NotBlockedWithin))
        {
            Violation($"the call did not wait although every engine of generation {_serving} is leased ({HeldText()})");
            return;
        }

        // Give one lease of the serving generation back: the waiting call must get its engine.
        Held released = _held.First(h => h.Generation.Number == _serving);
        _held.Remove(released);
        released.Lease.Dispose();
        _trace.Append(CultureInfo.InvariantCulture, $" (gave back the lease of step {released.Step + 1})");
        if (!done.WaitOne(CallBound))
        {
            _workerHung = true;
            Violation($"the waiting call did not end within {CallBound.TotalSeconds} s of a lease coming back ({HeldText()})");
        }
    }

    // ----- Invariants -----

    private void CheckInvariants(string when)
    {
        PredictionPoolStatistics stats = _pool.GetStatistics();
        EngineGeneration<PoolInput, PoolPrediction>? generation = _pool.ServingGeneration;
        if (generation?.Number != _serving)
        {
            Violation($"{when}: the pool serves generation {generation?.Number.ToString(CultureInfo.InvariantCulture) ?? "none"}, the model says {_serving?.ToString(CultureInfo.InvariantCulture) ?? "none"}");
        }

        if (stats.Generations != _generations)
        {
            Violation($"{when}: the pool counts {stats.Generations} generations, the model {_generations}");
        }

        if (stats.EnginesFaulted != _faulted)
        {
            Violation($"{when}: the pool counts {stats.EnginesFaulted} faulted engines, the model {_faulted}");
        }

        if (generation is not null && PoolExpectations.KindOf(generation.Version) != PoolExpectations.KindOf(_cache.Version))
        {
            Violation($"{when}: the pool's generation {generation.Number} is of {PoolExpectations.KindOf(generation.Version)}, the cache serves {PoolExpectations.KindOf(_cache.Version)}");
        }

        if (EngineCell.Get(_pool.PoolIndex) is { InUse: not 0 })
        {
            Violation($"{when}: the test thread's kept engine is marked in use while no call runs");
        }

        // No engine in two places: idle (a slot, a thread's cell) and leased, or leased twice, or idle twice.
        List<(PooledEngine<PoolInput, PoolPrediction> Engine, string Where)> idlePlaces = IdlePlaces();
        List<PooledEngine<PoolInput, PoolPrediction>> idle = [.. idlePlaces.Select(static p => p.Engine)];
        var places = new Dictionary<PooledEngine<PoolInput, PoolPrediction>, string>(ReferenceEqualityComparer.Instance);
        foreach ((PooledEngine<PoolInput, PoolPrediction> engine, string where) in idlePlaces)
        {
            Place(engine, where);
            Seen(engine, when);
            if (!ReferenceEquals(engine.Generation, generation))
            {
                Violation($"{when}: an idle engine of generation {engine.Generation.Number} sits in generation {generation?.Number}");
            }
        }

        foreach (Held held in _held)
        {
            Place(held.Engine, $"leased at step {held.Step + 1}");
        }

        // Engine accounting: the serving generation's live engines are exactly the leased and the idle ones (an engine that
        // is neither is lost: counted forever, never handed out again); every other generation keeps only its leased ones.
        int leasedHere = generation is null ? 0 : _held.Count(h => ReferenceEquals(h.Generation, generation));
        int live = generation?.LiveEngines ?? 0;
        if (live != leasedHere + idle.Count)
        {
            Violation($"{when}: generation {generation?.Number} has {live} live engines but {leasedHere} leased + {idle.Count} idle");
        }

        if (idle.Count > _sequence.MaximumEngines)
        {
            Violation($"{when}: {idle.Count} idle engines, more than the maximum {_sequence.MaximumEngines}");
        }

        if (_sequence.Policy == PoolExhaustionPolicy.Wait && live > _sequence.MaximumEngines)
        {
            Violation($"{when}: {live} engines alive in generation {generation?.Number} under Wait, more than the maximum {_sequence.MaximumEngines}");
        }

        var retired = _held.Where(h => !ReferenceEquals(h.Generation, generation)).GroupBy(static h => h.Generation).ToList();
        foreach (IGrouping<EngineGeneration<PoolInput, PoolPrediction>, Held> old in retired)
        {
            if (old.Key.LiveEngines != old.Count())
            {
                Violation($"{when}: retired generation {old.Key.Number} has {old.Key.LiveEngines} live engines but {old.Count()} leased (its idle ones must be disposed)");
            }
        }

        if (stats.LiveEngines != live + retired.Sum(static g => g.Count()))
        {
            Violation($"{when}: the pool counts {stats.LiveEngines} live engines, the generations {live} + {retired.Sum(static g => g.Count())} leased in retired ones");
        }

        // The model's leases: one for the serving generation, one for each retired generation with an engine still out.
        long leases = _cache.GetStatistics().ActiveLeases;
        if (leases != (generation is null ? 0 : 1) + retired.Count)
        {
            Violation($"{when}: the cache counts {leases} leases on its models, expected {(generation is null ? 0 : 1)} (serving generation) + {retired.Count} (retired generations with leased engines)");
        }

        void Place(PooledEngine<PoolInput, PoolPrediction> engine, string where)
        {
            if (!places.TryAdd(engine, where))
            {
                Violation($"{when}: one engine is in two places: {places[engine]} and {where}");
            }
        }
    }

    /// <summary>Every lease given back and the pool disposed: nothing may stay alive, no model lease may stay held.</summary>
    private void Finish()
    {
        _trace.AppendLine("  end: every lease back, the pool disposed");
        foreach (Held held in _held)
        {
            held.Lease.Dispose();
        }

        _held.Clear();
        _pool.Dispose();
        _poolDisposed = true;
        _serving = null;
        CheckInvariants("at the end");
        PredictionPoolStatistics stats = _pool.GetStatistics();
        if (stats.LiveEngines != 0 || _cache.GetStatistics().ActiveLeases != 0)
        {
            Violation($"at the end: {stats.LiveEngines} engines alive, {_cache.GetStatistics().ActiveLeases} model leases held");
        }
    }

    private List<PooledEngine<PoolInput, PoolPrediction>> IdleEngines() => [.. IdlePlaces().Select(static p => p.Engine)];

    // The serving generation's idle engines and where each sits: a slot, or a thread's cell.
    private List<(PooledEngine<PoolInput, PoolPrediction> Engine, string Where)> IdlePlaces()
    {
        if (_pool.ServingGeneration is not { } generation)
        {
            return [];
        }

        List<(PooledEngine<PoolInput, PoolPrediction>, string)> idle = [.. PoolProbe.IdleInSlots(generation).Select(static e => (e, "idle in a slot"))];
        foreach (EngineCell cell in PoolProbe.Cells(generation))
        {
            if (Volatile.Read(ref cell.Engine) is PooledEngine<PoolInput, PoolPrediction> kept)
            {
                idle.Add((kept, $"kept by thread '{cell.Owner.Name ?? cell.Owner.ManagedThreadId.ToString(CultureInfo.InvariantCulture)}'"));
            }
        }

        return idle;
    }

    // An engine belongs to one generation for good: one seen in another generation before moved between generations.
    private void Seen(PooledEngine<PoolInput, PoolPrediction> engine, string where)
    {
        if (_seenIn.TryGetValue(engine, out long number) && number != engine.Generation.Number)
        {
            Violation($"{where}: an engine of generation {number} now serves generation {engine.Generation.Number}");
        }

        _seenIn[engine] = engine.Generation.Number;
    }

    private int HeldIn(long generation) => _held.Count(h => h.Generation.Number == generation && ReferenceEquals(h.Generation, _pool.ServingGeneration));

    private string HeldText() => $"{_held.Count} lease(s) held: {string.Join(", ", _held.Select(static h => $"g{h.Generation.Number}"))}";

    private string StateText()
    {
        PredictionPoolStatistics s = _pool.GetStatistics();
        return $"serving g{_serving?.ToString(CultureInfo.InvariantCulture) ?? "-"}, {HeldText()}, {IdleEngines().Count} idle; created {s.EnginesCreated}, disposed {s.EnginesDisposed}, faulted {s.EnginesFaulted}, extra {s.ExtraEnginesCreated}, waits {s.Waits}";
    }

    private static string Text(float[] values) => values.Length <= 6
        ? string.Join(", ", values.Select(static v => v.ToString("G4", CultureInfo.InvariantCulture)))
        : $"{values.Length} values";

    private void Violation(string text) => _violations.Add(text);

    public void Dispose()
    {
        foreach (Held held in _held)
        {
            held.Lease.Dispose();
        }

        // The pool first: a retirement wakes a worker stuck waiting for an engine.
        _pool.Dispose();
        _worker.Stop(TimeSpan.FromSeconds(5));
        _cache.Dispose();
        _folder.Dispose();
    }

    private sealed class Outcome
    {
        public bool KeptEngine;
        public bool CellInUseAfter;
        public Exception? Error;
        public float[][]? Features;
        public PredictionEngineLease<PoolInput, PoolPrediction>? Lease;
    }

    private sealed record Held(
        PredictionEngineLease<PoolInput, PoolPrediction> Lease,
        PooledEngine<PoolInput, PoolPrediction> Engine,
        EngineGeneration<PoolInput, PoolPrediction> Generation,
        ModelKind? Kind,
        int Step);
}
