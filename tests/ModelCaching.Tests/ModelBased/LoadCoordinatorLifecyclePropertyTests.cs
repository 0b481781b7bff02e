using System.Collections.Concurrent;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Generations;
using ModelCaching.Loading;
using ModelCaching.Tests.Loading;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.ModelBased;

/// <summary>
/// The load coordinator's own life (issue 18): random sequences of requests, explicit reloads, finished and timed-out
/// attempts, ends of abandoned threads and closing, run against a coordinator whose host lets go of it when it goes idle,
/// and checked after every step against a model of what it holds: the attempt in progress, the one follow-up, the
/// abandoned thread, whether it is closed, and whether it was detached (exactly when it went idle and was not closed; a
/// detached one starts nothing). Each attempt's work runs on its own thread and waits until the step lets it go.
/// </summary>
[Collection(nameof(AbandonedThreadTests))]
public sealed class LoadCoordinatorLifecyclePropertyTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30); // a bound for a loaded CI machine, not a wait

    [Fact]
    public void RandomRequestsFinishesTimeoutsAndCloses_DetachTheCoordinatorExactlyWhenItGoesIdleAndNeverStartOnADetachedOne()
    {
        Arbitrary<int[]> sequences = Arb.From(
            Gen.Choose(0, int.MaxValue).Select(static seed =>
            {
                var random = new Random(seed);
                return Enumerable.Range(0, random.Next(3, 25)).Select(_ => random.Next(0, 7)).ToArray();
            }),
            static ops => Enumerable.Range(0, ops.Length).Select(skip => ops.Where((_, i) => i != skip).ToArray()));
        Config config = Config.QuickThrowOnFailure.WithMaxTest(60).WithReplay(new Replay(new Rnd(18UL, 0x9E3779B97F4A7C15UL), null));
        Prop.ForAll(sequences, ops =>
        {
            string? broken = Run(ops);
            Assert.True(broken is null, $"{broken} after [{string.Join(", ", ops)}]");
        }).Check(config);
    }

    private static string? Run(int[] ops)
    {
        using var world = new World();
        var trace = new List<string>();
        try
        {
            foreach (int op in ops)
            {
                string? broken = world.Step(op, trace) ?? world.Check();
                if (broken is not null)
                {
                    return $"{broken}; trace: {string.Join(" → ", trace)}";
                }
            }

            return null;
        }
        finally
        {
            world.Release();
        }
    }

    /// <summary>The coordinator under test, the model of what it should hold, and the gates of the attempts' work.</summary>
    private sealed class World : IDisposable
    {
        private readonly FakeTimeProvider _time = new();
        private readonly ConcurrentDictionary<LoadAttempt<FakeModel>, ManualResetEventSlim> _gates = new();
        private readonly BlockingCollection<LoadAttempt<FakeModel>> _started = [];
        private readonly DelegateLoadHost<FakeModel> _host;
        private readonly LoadCoordinator<FakeModel> _coordinator;
        private int _runs;
        private int _retriesDue;

        // The model.
        private LoadAttempt<FakeModel>? _inflight;
        private LoadAttempt<FakeModel>? _abandoned;
        private bool _followUp;
        private bool _loadAfterAbandoned;
        private bool _closed;
        private bool _detached;
        private int _starts;
        private int _expectedRetries;

        public World()
        {
            _host = new DelegateLoadHost<FakeModel>(Work, onRetryDue: () => Interlocked.Increment(ref _retriesDue))
            {
                TimeProvider = _time,
                LoadTimeout = Timeout,
                DetachWhenIdle = true,
            };
            _coordinator = new LoadCoordinator<FakeModel>(_host);
        }

        public string? Step(int op, List<string> trace)
        {
            switch (op)
            {
                case 0 or 1 or 6:
                {
                    ModelLoadReason reason = op == 0 ? ModelLoadReason.FirstUse : ModelLoadReason.Explicit;
                    trace.Add(reason.ToString());
                    Task<ModelGeneration<FakeModel>>? load = _coordinator.TryRequest(reason);
                    if (_detached)
                    {
                        return load is null ? null : "a detached coordinator took a request";
                    }

                    if (load is null)
                    {
                        return "an attached coordinator refused a request";
                    }

                    if (_inflight is not null)
                    {
                        _followUp |= reason == ModelLoadReason.Explicit;
                    }
                    else if (_abandoned is not null)
                    {
                        _loadAfterAbandoned = true;
                        return load.IsFaulted ? null : "a request behind an abandoned thread was not answered at once";
                    }
                    else
                    {
                        return Started(out _inflight);
                    }

                    return null;
                }

                case 2 when _inflight is { } finishing:
                {
                    trace.Add("finish");
                    _gates[finishing].Set();
                    if (!finishing.Ended.Wait(Bound) || !finishing.Completion.Task.Wait(Bound))
                    {
                        return "the finished attempt did not end";
                    }

                    _inflight = null;
                    if (_followUp && !_closed)
                    {
                        _followUp = false;
                        return Started(out _inflight) ?? Idle();
                    }

                    _followUp = false;
                    return Idle();
                }

                case 3 when _inflight is { } hung:
                {
                    trace.Add("time out");
                    _time.Advance(Timeout);
                    if (!hung.Completion.Task.IsFaulted) // answered on this thread, by the timer the advance fired
                    {
                        return "the timed-out attempt's waiters were not answered";
                    }

                    _inflight = null;
                    _abandoned = hung;
                    _loadAfterAbandoned |= _followUp;
                    _followUp = false;
                    return null;
                }

                case 4 when _abandoned is { } stuck:
                {
                    trace.Add("thread ends");
                    _gates[stuck].Set();
                    if (!stuck.Ended.Wait(Bound))
                    {
                        return "the abandoned thread did not end";
                    }

                    _abandoned = null;
                    if (_loadAfterAbandoned && !_closed)
                    {
                        _expectedRetries++;
                    }

                    _loadAfterAbandoned = false;
                    return Idle();
                }

                case 5:
                {
                    trace.Add("close");
                    bool closed = _coordinator.TryClose(out bool first);
                    if (_detached)
                    {
                        return closed ? "a detached coordinator was closed" : null;
                    }

                    if (!closed || first == _closed)
                    {
                        return $"closing answered {closed}, first {first}, closed before {_closed}";
                    }

                    _closed = true;
                    _followUp = false;
                    return null;
                }

                default:
                    trace.Add("nothing");
                    return null;
            }
        }

        /// <summary>What the coordinator shows against the model.</summary>
        public string? Check()
        {
            if (_coordinator.IsDetached != _detached)
            {
                return $"detached {_coordinator.IsDetached}, the model says {_detached}";
            }

            if (_host.Detaches != (_detached ? 1 : 0))
            {
                return $"the host was asked to let go {_host.Detaches} times";
            }

            if (_coordinator.IsLoading != _inflight is not null || _coordinator.Inflight != _inflight)
            {
                return $"loading {_coordinator.IsLoading}, the model says {_inflight is not null}";
            }

            if (_coordinator.AbandonedRunning != _abandoned is not null)
            {
                return $"an abandoned thread {_coordinator.AbandonedRunning}, the model says {_abandoned is not null}";
            }

            if (Volatile.Read(ref _runs) != _starts || _started.Count != 0)
            {
                return $"{_runs} attempts ran, the model started {_starts}";
            }

            return Volatile.Read(ref _retriesDue) != _expectedRetries ? $"{_retriesDue} retries were due, the model says {_expectedRetries}" : null;
        }

        /// <summary>Lets every attempt's work go (the sequence ended or broke).</summary>
        public void Release()
        {
            foreach (ManualResetEventSlim gate in _gates.Values)
            {
                gate.Set();
            }

            foreach (LoadAttempt<FakeModel> attempt in _gates.Keys)
            {
                attempt.Ended.Wait(Bound);
            }
        }

        public void Dispose()
        {
            foreach (ManualResetEventSlim gate in _gates.Values)
            {
                gate.Dispose();
            }

            _started.Dispose();
        }

        private string? Started(out LoadAttempt<FakeModel>? attempt)
        {
            _starts++;
            return _started.TryTake(out attempt, Bound) ? null : "a started attempt never ran";
        }

        // Nothing runs, nothing is queued and no thread is waited for: an open coordinator is let go of now.
        private string? Idle()
        {
            if (_inflight is null && !_followUp && _abandoned is null && !_closed)
            {
                _detached = true;
            }

            return null;
        }

        private ModelGeneration<FakeModel> Work(LoadAttempt<FakeModel> attempt)
        {
            int run = Interlocked.Increment(ref _runs);
            ManualResetEventSlim gate = _gates.GetOrAdd(attempt, static _ => new ManualResetEventSlim());
            _started.Add(attempt);
            gate.Wait(Bound); // ignores its token, like a hung loader, until the step lets it go
            var version = new ModelVersion($"g{run}", run, "memory:test", DateTimeOffset.UnixEpoch, 0);
            return new ModelGeneration<FakeModel>("m", new FakeModel($"v{run}"), version, null, NullLogger.Instance);
        }
    }
}
