using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ModelCaching.Tests.ModelBased.Engine;

/// <summary>
/// Runs one sequence of <see cref="MbtOp"/>s against a provider with a template of <see cref="MbtModel"/>s under a
/// memory budget, and checks the invariants (<see cref="MbtInvariants"/>) after each step and at the end.
/// </summary>
/// <remarks>
/// Calls run asynchronously: a call that does not complete at once (its loader hangs, it waits for memory or a load
/// slot) stays pending and is looked at after every later step. After each step the runner waits until the system is
/// quiet (nothing it can observe changes for a few milliseconds; longer when a pending call is not explained by a hung
/// loader or a wait for memory), bounded, then checks. Time moves only when a step advances the fake clock.
/// </remarks>
public sealed partial class MbtRunner : IDisposable
{
    public const long BudgetBytes = 250;
    public const int MaxConcurrentLoads = 2;
    public static readonly TimeSpan LoadTimeout = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan RetryMaxDelay = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan SettleBound = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan CallBound = TimeSpan.FromSeconds(2);

    private readonly MbtWorld _world = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly ServiceProvider _services;
    private readonly IModelCacheProvider _provider;
    private readonly List<Pending> _pending = [];
    private readonly List<Held> _held = [];
    private readonly StringBuilder _trace = new();
    private readonly List<string> _violations = [];
    private int _maxDeclared = 80;
    private int _step;

    private MbtRunner()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        MbtWorld world = _world;
        services.AddModelCache(o => o.MaxConcurrentLoads = MaxConcurrentLoads).AddModelTemplate<MbtModel>(
            "mbt",
            t => t.FromSource((name, _) => world.SourceFor(name))
                .UseLoader(world.Loader)
                .Configure(o =>
                {
                    o.LoadTimeout = LoadTimeout;
                    o.DrainDelay = TimeSpan.Zero;
                    o.RetryMaxDelay = RetryMaxDelay;
                    o.SizeEstimator = (model, _) => world.EstimateSize(model);
                }),
            o => o.MemoryBudgetBytes = BudgetBytes);
        _services = services.BuildServiceProvider();
        _provider = _services.GetRequiredService<IModelCacheProvider>();
    }

    /// <summary>Runs <paramref name="sequence"/>; null when every invariant held, else what broke, the step and the trace.</summary>
    public static string? Run(MbtSequence sequence)
    {
        using var runner = new MbtRunner();
        return runner.RunAll(sequence);
    }

    private string? RunAll(MbtSequence sequence)
    {
        for (_step = 1; _step <= sequence.Ops.Count; _step++)
        {
            MbtOp op = sequence.Ops[_step - 1];
            _trace.Append(CultureInfoText($"{_step,3}. {op}"));
            try
            {
                Apply(op);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _trace.Append(CultureInfoText($" -> threw {ex.GetType().Name}: {ex.Message}"));
            }

            Settle();
            Check();
            _trace.AppendLine(CultureInfoText($"   [{BudgetText()}]"));
            if (_violations.Count > 0)
            {
                return Report(sequence, $"after step {_step} ({op})");
            }
        }

        _step = sequence.Ops.Count + 1;
        _trace.AppendLine("--- end: blockers end (faults and lies stop, our leases released, time passes the load timeout) ---");
        Finish();
        return _violations.Count > 0 ? Report(sequence, "at the end") : null;
    }

    private string Report(MbtSequence sequence, string when) =>
        $"Invariant broken {when}:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", _violations) + Environment.NewLine +
        $"Sequence: {sequence}{Environment.NewLine}Trace:{Environment.NewLine}{_trace}";

    private static string CultureInfoText(FormattableString text) => FormattableString.Invariant(text);

    private IModelCache<MbtModel>? Existing(string name) =>
        _provider.TryGetCache(name, out IModelCache? cache) ? cache as IModelCache<MbtModel> : null;

    private void Apply(MbtOp op)
    {
        MbtWorld.Entry entry = _world.Entries[op.NameText];
        switch (op.Kind)
        {
            case MbtOpKind.Get:
                Start(op, _provider.GetCache<MbtModel>(op.NameText).GetModelAsync().AsTask());
                break;
            case MbtOpKind.Acquire:
                Start(op, _provider.GetCache<MbtModel>(op.NameText).AcquireAsync().AsTask());
                break;
            case MbtOpKind.Release:
            case MbtOpKind.ReleaseTwice:
            case MbtOpKind.ReleaseRace:
                Release(op);
                break;
            case MbtOpKind.Change:
                entry.Change(op.ChangeSize, op.ChangeIsBad);
                if (op.ChangeSize <= BudgetBytes)
                {
                    _maxDeclared = Math.Max(_maxDeclared, op.ChangeSize);
                }

                break;
            case MbtOpKind.Reload:
                if (Existing(op.NameText) is { } reloaded)
                {
                    Start(op, reloaded.ReloadAsync());
                }
                else
                {
                    _trace.Append(" -> no cache");
                }

                break;
            case MbtOpKind.Invalidate:
                if (Existing(op.NameText) is { } invalidated)
                {
                    invalidated.Invalidate();
                }
                else
                {
                    _trace.Append(" -> no cache");
                }

                break;
            case MbtOpKind.Fault:
                entry.Fault = op.FaultKind;
                break;
            case MbtOpKind.ReleaseHung:
                entry.ReleaseHung();
                break;
            case MbtOpKind.Lie:
                entry.LieFactor = op.LieFactor;
                break;
            case MbtOpKind.Advance:
                _time.Advance(TimeSpan.FromSeconds(op.Seconds));
                break;
        }
    }

    private void Start(MbtOp op, Task task)
    {
        var pending = new Pending(_step, op, task);
        _pending.Add(pending);
    }

    private void Release(MbtOp op)
    {
        if (_held.Count == 0)
        {
            _trace.Append(" -> no lease held");
            return;
        }

        Held held = _held[op.Arg % _held.Count];
        _held.Remove(held);
        _trace.Append(CultureInfoText($" -> lease of {held.Model}"));
        held.Model.RemoveLease();
        ModelLease<MbtModel> copy = held.Lease;
        held.Lease.Dispose();
        if (op.Kind == MbtOpKind.ReleaseTwice)
        {
            SecondDispose(copy);
        }
        else if (op.Kind == MbtOpKind.ReleaseRace)
        {
            // The first Dispose above ran alone; now two threads dispose the same copy again at once.
            using var barrier = new Barrier(2);
            var other = new Thread(() =>
            {
                barrier.SignalAndWait();
                SecondDispose(copy);
            });
            other.Start();
            barrier.SignalAndWait();
            SecondDispose(copy);
            other.Join(CallBound);
        }
    }

    private void SecondDispose(ModelLease<MbtModel> copy)
    {
        try
        {
            copy.Dispose();
        }
        catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException)
        {
            // A caller's mistake may throw; it must never release another holder's pin (checked by the disposal invariant).
        }
    }

    private void Settle()
    {
        var clock = Stopwatch.StartNew();
        string last = Fingerprint();
        TimeSpan stableSince = clock.Elapsed;
        while (clock.Elapsed < SettleBound)
        {
            Thread.Sleep(1);
            string now = Fingerprint();
            if (now != last)
            {
                last = now;
                stableSince = clock.Elapsed;
                continue;
            }

            if (InTransit())
            {
                stableSince = clock.Elapsed;
                continue;
            }

            TimeSpan quiet = _pending.TrueForAll(static p => p.Task.IsCompleted)
                ? TimeSpan.FromMilliseconds(3)
                : Explained() ? TimeSpan.FromMilliseconds(10) : TimeSpan.FromMilliseconds(300);
            if (clock.Elapsed - stableSince >= quiet)
            {
                return;
            }
        }
    }

    // Work we know is under way: a loader that is not hung runs (or a released one has not returned yet), or an
    // abandoned attempt runs although its loader no longer hangs (it is finishing).
    private bool InTransit()
    {
        if (_world.RunningLoaders > 0 || _world.WakingLoaders > 0)
        {
            return true;
        }

        foreach (string name in MbtOp.Names)
        {
            if (Existing(name)?.GetStatistics() is { AbandonedLoadRunning: true } && _world.Entries[name].HungNow == 0)
            {
                return true;
            }
        }

        return false;
    }

    // A pending call is explained when something we can see holds it: a hung loader, a load waiting for memory, or an
    // abandoned attempt still running.
    private bool Explained()
    {
        if (_world.HungLoaders > 0 || Budget().WaitingLoads > 0)
        {
            return true;
        }

        foreach (string name in MbtOp.Names)
        {
            if (Existing(name)?.GetStatistics() is { AbandonedLoadRunning: true })
            {
                return true;
            }
        }

        return false;
    }

    private string Fingerprint()
    {
        var text = new StringBuilder();
        text.Append(CultureInfoText($"{_world.LoaderCalls}/{_world.LoaderReturns}/{_world.Fetches}/{_world.HungLoaders}/{_world.ModelsSnapshot().Sum(static m => m.Disposals)}/{_pending.Count(static p => p.Task.IsCompleted)}|{BudgetText()}"));
        foreach (string name in MbtOp.Names)
        {
            if (Existing(name)?.GetStatistics() is { } s)
            {
                text.Append(CultureInfoText($"|{s.State}{s.Loads}/{s.LoadFailures}/{s.Unloads}/{s.RetiredGenerations}"));
            }
        }

        return text.ToString();
    }

    private ModelMemoryBudgetStatus Budget() => _provider.GetMemoryBudgets().Single();

    private string BudgetText()
    {
        ModelMemoryBudgetStatus b = Budget();
        return CultureInfoText($"used {b.UsedBytes}/{b.LimitBytes}: resident {b.ResidentBytes}, draining {b.DrainingBytes}, reserved {b.ReservedBytes}, waiting {b.WaitingLoads}");
    }

    private void Check()
    {
        Complete();
        if (MbtInvariants.CheckDisposal)
        {
            foreach (string violation in _world.TakeViolations())
            {
                _violations.Add(violation);
            }

            foreach (Held held in _held)
            {
                if (held.Model.Disposals > 0)
                {
                    _violations.Add($"[disposal] {held.Model} is disposed while our lease (step {held.Step}) holds it");
                }
            }
        }

        if (MbtInvariants.CheckBudgetCap)
        {
            ModelMemoryBudgetStatus budget = Budget();
            long allowed = budget.LimitBytes + (MbtInvariants.Overdraft * (long)_maxDeclared);
            if (budget.UsedBytes > allowed && EvictableResident() is { Count: > 0 } evictable)
            {
                _violations.Add(CultureInfoText($"[budget-cap] {budget.UsedBytes} B in use > {allowed} B allowed (limit {budget.LimitBytes} + {MbtInvariants.Overdraft} x {_maxDeclared} B) while {string.Join(", ", evictable)} could be evicted ({BudgetText()})"));
            }

            // Each generation drains and releases its charge once (it keeps the charge's state itself, issue 18): a charge
            // drained or released twice leaves a count below zero.
            if (budget.ResidentBytes < 0 || budget.DrainingBytes < 0 || budget.ReservedBytes < 0)
            {
                _violations.Add(CultureInfoText($"[budget-cap] a count below zero: a charge drained or released twice ({BudgetText()})"));
            }
        }
    }

    private List<string> EvictableResident()
    {
        var names = new List<string>();
        foreach (string name in MbtOp.Names)
        {
            if (Existing(name)?.GetStatistics() is { State: ModelCacheState.Ready, AbandonedLoadRunning: false } s && _world.Entries[name].HungNow == 0 &&
                !_pending.Exists(p => !p.Task.IsCompleted && p.Op.NameText == name))
            {
                names.Add(CultureInfoText($"{name} ({s.Version?.SizeBytes} B)"));
            }
        }

        return names;
    }

    // Takes the outcome of every pending call that has completed.
    private void Complete()
    {
        for (int i = 0; i < _pending.Count; i++)
        {
            Pending pending = _pending[i];
            if (!pending.Task.IsCompleted)
            {
                continue;
            }

            _pending.RemoveAt(i--);
            string outcome = Outcome(pending);
            _trace.Append(CultureInfoText($"{Environment.NewLine}       (step {pending.Step} {pending.Op}: {outcome})"));
        }
    }

    private string Outcome(Pending pending)
    {
        MbtWorld.Entry entry = _world.Entries[pending.Op.NameText];
        switch (pending.Task)
        {
            case Task<MbtModel> { IsCompletedSuccessfully: true } get:
                entry.Served.Add(get.Result.ContentVersion);
                return $"served {get.Result}";
            case Task<ModelLease<MbtModel>> { IsCompletedSuccessfully: true } acquire:
                ModelLease<MbtModel> lease = acquire.Result;
                lease.Model.AddLease();
                entry.Served.Add(lease.Model.ContentVersion);
                _held.Add(new Held(pending.Step, lease, lease.Model));
                if (lease.Model.Disposals > 0 && MbtInvariants.CheckDisposal)
                {
                    _violations.Add($"[disposal] step {pending.Step} acquired a lease on {lease.Model}, already disposed");
                }

                return $"leased {lease.Model}";
            case { IsCompletedSuccessfully: true }:
                return "done";
            default:
                Exception error = pending.Task.Exception?.GetBaseException() ?? new OperationCanceledException();
                CheckRejected(pending.Op.NameText, error.Message, $"step {pending.Step} {pending.Op}");
                return $"failed: {error.GetType().Name}: {error.Message}";
        }
    }

    private void CheckRejected(string name, string message, string where)
    {
        if (!MbtInvariants.CheckOnlyContentIsBadContent || !message.Contains("since it was rejected", StringComparison.Ordinal))
        {
            return;
        }

        MbtWorld.Entry entry = _world.Entries[name];
        foreach (Match match in Sha256().Matches(message))
        {
            if (entry.GoodHashes.TryGetValue(match.Value, out int version))
            {
                _violations.Add($"[only-content-is-bad-content] {where}: {name} v{version} is good content{(entry.Served.Contains(version) ? " that served before" : string.Empty)}, answered as rejected: {message}");
            }
        }
    }

    /// <summary>The end of a run: every blocker ends, time passes the cool-downs; every call ends and every model that fits loads.</summary>
    private void Finish()
    {
        // First, with the hung loaders still hung: a hung callback costs its own model a thread and nothing else, so
        // once the other blockers end and time passes the load timeout, every other model that fits loads.
        foreach (MbtWorld.Entry entry in _world.Entries.Values)
        {
            if (entry.Fault != MbtFault.Hang)
            {
                entry.Fault = MbtFault.None;
            }

            entry.LieFactor = 1;
        }

        for (int i = 0; i < 3; i++)
        {
            Settle();
            Complete();
            ReleaseHeld();
            _time.Advance(LoadTimeout + TimeSpan.FromSeconds(1));
        }

        Settle();
        if (_world.HungLoaders > 0 && (MbtInvariants.CheckEventuallyLoads || MbtInvariants.CheckOnlyContentIsBadContent))
        {
            _trace.AppendLine(CultureInfoText($"--- end, part 1: {_world.HungLoaders} loader(s) still hung; the other models that fit must load ---"));
            LoadEveryModelThatFits(skipHung: true);
            if (_violations.Count > 0)
            {
                return;
            }
        }

        _trace.AppendLine("--- end, part 2: hung loaders released, time passes cool-downs ---");
        foreach (MbtWorld.Entry entry in _world.Entries.Values)
        {
            entry.ReleaseHung();
            entry.Fault = MbtFault.None;
            entry.LieFactor = 1;
        }

        // Leases that pending acquires take meanwhile are released too: our leases are blockers.
        for (int i = 0; i < 12; i++)
        {
            Settle();
            Complete();
            ReleaseHeld();
            _time.Advance(TimeSpan.FromSeconds(31));
        }

        Settle();
        Check();
        ReleaseHeld();
        if (!MbtInvariants.CheckEventuallyLoads && !MbtInvariants.CheckOnlyContentIsBadContent)
        {
            return;
        }

        if (MbtInvariants.CheckEventuallyLoads)
        {
            foreach (Pending stuck in _pending)
            {
                _violations.Add($"[eventually] step {stuck.Step} {stuck.Op} never ended, 6 minutes after its blockers ended ({BudgetText()})");
            }
        }

        LoadEveryModelThatFits(skipHung: false);
    }

    private void LoadEveryModelThatFits(bool skipHung)
    {
        foreach (string name in MbtOp.Names)
        {
            MbtWorld.Entry entry = _world.Entries[name];
            if (entry.Bad || ChargeOnFreshLoad(entry) > BudgetBytes || (skipHung && (entry.Fault == MbtFault.Hang || entry.HungNow > 0)))
            {
                continue;
            }

            Complete();
            ReleaseHeld();
            Task<MbtModel> load = FinalGet(name);

            // A hung load (a retry of a name still hung) holds its reservation until its own timeout, and the fake clock
            // jumps past that timeout and this call's in one step: the call may time out waiting for memory the hung
            // attempt gave back at the same instant. And a name whose last load failed answers that failure until its
            // retry back-off (RetryMaxDelay at most) has passed. Both blockers end once time passes the back-off, so one
            // more call then must load.
            if (load is { IsFaulted: true } && load.Exception!.GetBaseException().Message.Contains("timed out", StringComparison.Ordinal))
            {
                _trace.AppendLine(CultureInfoText($"  final Get({name}) -> failed: {load.Exception!.GetBaseException().Message}; once more after {RetryMaxDelay.TotalSeconds + 1} s   [{BudgetText()}]"));
                _time.Advance(RetryMaxDelay + TimeSpan.FromSeconds(1));
                Settle();
                Complete();
                load = FinalGet(name);
            }

            string outcome = load.IsCompletedSuccessfully ? $"served {load.Result}" : load.IsCompleted ? $"failed: {load.Exception!.GetBaseException().Message}" : "still waiting";
            _trace.AppendLine(CultureInfoText($"  final Get({name}) ({entry.Size} B, charged {ChargeOnFreshLoad(entry)} B, fits) -> {outcome}   [{BudgetText()}]"));
            if (load.IsCompletedSuccessfully)
            {
                entry.Served.Add(load.Result.ContentVersion);
                continue;
            }

            if (load.IsCompleted)
            {
                CheckRejected(name, load.Exception!.GetBaseException().Message, $"final Get({name})");
            }

            if (MbtInvariants.CheckEventuallyLoads)
            {
                _violations.Add($"[eventually] {name} ({entry.Size} B, charged {ChargeOnFreshLoad(entry)} B of {BudgetBytes}, good content) did not load once its blockers ended{(skipHung ? $" ({_world.HungLoaders} other loader(s) still hung)" : string.Empty)}: {outcome} ({BudgetText()}; {StatesText()})");
            }
        }
    }

    // What a load of the name after an unload (or its first) is charged: the model (its content's length once lies stop)
    // and its own bytes, kept for a rollback (RollbackRetention.Artifact, the default; an unload drops the previous
    // version's). A reload of a resident model also charges the previous version's bytes, so it may not fit.
    private static long ChargeOnFreshLoad(MbtWorld.Entry entry) => 2L * entry.Size;

    // Each name's state, serving size, loads and failures, and whether an abandoned load runs (what a failure report needs).
    private string StatesText() => string.Join(", ", MbtOp.Names.Select(name => Existing(name)?.GetStatistics() is { } s
        ? CultureInfoText($"{name} {s.State} {s.Version?.SizeBytes} B, {s.Loads} loads, {s.LoadFailures} failed{(s.AbandonedLoadRunning ? ", abandoned load running" : string.Empty)}")
        : $"{name} no cache"));

    private Task<MbtModel> FinalGet(string name)
    {
        // Time moves a second at a time while the call waits, so a hung attempt that started before it reaches its
        // timeout (and gives its memory back) before this call's timeout, as in real time.
        Task<MbtModel> load = _provider.GetCache<MbtModel>(name).GetModelAsync().AsTask();
        for (int attempt = 0; attempt < 30 && !load.IsCompleted; attempt++)
        {
            ((IAsyncResult)load).AsyncWaitHandle.WaitOne(TimeSpan.FromMilliseconds(attempt < 2 ? 500 : 100));
            if (!load.IsCompleted)
            {
                _time.Advance(TimeSpan.FromSeconds(1));
            }
        }

        return load;
    }

    private void ReleaseHeld()
    {
        foreach (Held held in _held)
        {
            held.Model.RemoveLease();
            held.Lease.Dispose();
        }

        _held.Clear();
    }

    public void Dispose()
    {
        _world.ReleaseAllHung();
        foreach (Held held in _held)
        {
            held.Model.RemoveLease();
            held.Lease.Dispose();
        }

        // Bounded: a provider whose disposal hangs (issue 17 item 11) must not hang the test run.
        _services.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(30));
        _world.Dispose();
    }

    [GeneratedRegex("[0-9a-f]{64}")]
    private static partial Regex Sha256();

    private sealed record Pending(int Step, MbtOp Op, Task Task);

    private sealed record Held(int Step, ModelLease<MbtModel> Lease, MbtModel Model);
}
