using FsCheck;
using FsCheck.Fluent;
using ModelCaching.Redis.Instance;
using ModelCaching.Redis.Records;

namespace ModelCaching.Redis.Tests.Instance;

/// <summary>
/// A model-based test of one instance's reconciliation: random sequences of publishes (good, bad, unsigned), lost
/// messages, Redis emptied, transient load failures, reconciliation ticks, older signed records replayed into Redis and
/// signed records tampered with (the rollout's stage, the version) drive the real <see cref="FleetModelEntry"/>,
/// <see cref="RecordSigner"/> and <see cref="Reconciliation"/> over a simulated cache, and after each step the invariants
/// hold: nothing unsigned or bad ever serves, bad content is tried at most once, the instance follows exactly the signed
/// records of the highest revision it has read (a replayed or tampered record moves nothing), and a tick brings a healthy
/// instance onto a good desired version whatever messages were lost.
/// </summary>
public sealed class ReconciliationPropertyTests
{
    private const int Operations = 14;
    private const string Instance = "i1";

    [Fact]
    public void Reconciliation_KeepsItsInvariants_OverRandomSequences()
    {
        Config config = Config.QuickThrowOnFailure.WithMaxTest(500).WithReplay(new Replay(new Rnd(19UL, 0x9E3779B97F4A7C15UL), null));
        Prop.ForAll(Arb.From(Gen.ArrayOf(Gen.Choose(0, Operations - 1))), static ops =>
        {
            string? broken = new Simulation().Run(ops);
            Assert.True(broken is null, $"{broken} after [{string.Join(", ", ops)}]");
        }).Check(config);
    }

    /// <summary>One instance and the record in "Redis".</summary>
    private sealed class Simulation
    {
        private readonly RecordSigner _fleetKey = new(new byte[32], "prod");
        private readonly RecordSigner _rogueKey = new(null, "prod");
        private readonly FleetModelEntry _entry = new("m");
        private readonly HashSet<string> _bad = [];
        private readonly Dictionary<string, int> _attempts = [];
        private readonly HashSet<FleetDesiredVersion> _signed = new(ReferenceEqualityComparer.Instance);
        private readonly List<FleetDesiredVersion> _history = [];
        private FleetDesiredVersion? _redis;
        private FleetDesiredVersion? _lastSigned;
        private FleetVersion? _expected; // what the model says the instance aims at
        private long _expectedRevision;
        private FleetDesiredVersion? _expectedRecord;
        private long _clock; // the publishers' revisions (their clocks, in the store)
        private bool _lastCollided;
        private string _served = Sha("local");
        private ModelCacheState _state = ModelCacheState.Ready;
        private ModelLoadRecord? _last;
        private bool _transientNext;
        private int _published;
        private bool _read;

        public string? Run(int[] ops)
        {
            foreach (int op in ops)
            {
                _read = false;
                switch (op)
                {
                    case 0: Publish(bad: false, signed: true, announce: true); break;
                    case 1: Publish(bad: false, signed: true, announce: false); break;
                    case 2: Publish(bad: true, signed: true, announce: true); break;
                    case 3: Publish(bad: true, signed: true, announce: false); break;
                    case 4: Publish(bad: false, signed: false, announce: true); break;
                    case 5: _redis = null; break; // Redis restarted empty
                    case 6: Reconcile(); break;
                    case 7: _transientNext = true; break; // the next load fails before reading content (a share unreachable)
                    case 8: Republish(); break;
                    case 9: Reconcile(); break; // a reconnect reads everything, as a tick does
                    case 10: Replay(); break;
                    case 11: Tamper(rollout: true); break;
                    case 12: Tamper(rollout: false); break;
                    default: Publish(bad: false, signed: true, announce: true, collide: true); break;
                }

                if (Broken(tick: op is 6 or 9) is { } broken)
                {
                    return broken;
                }
            }

            return null;
        }

        // collide: a signed record of the same revision as the newest before it (a writer whose clock is behind, after
        // Redis lost its records): an instance that accepted that one refuses it, one that did not follows it.
        private void Publish(bool bad, bool signed, bool announce, bool collide = false)
        {
            string content = $"content {++_published}";
            if (bad)
            {
                _bad.Add(Sha(content));
            }

            var version = new FleetVersion { Model = "m", VersionId = $"v{_published}", Sha256 = Sha(content), SizeBytes = 1, Storage = FleetContentStorage.Store, PublishedBy = "p", PublishedAt = DateTimeOffset.UnixEpoch };
            var desired = new FleetDesiredVersion { Version = signed ? _fleetKey.Sign(version) : _rogueKey.Sign(version), ChangedBy = "p", Revision = collide ? (_clock = Math.Max(_clock, 1)) : ++_clock };
            _redis = signed ? Signed(desired) : _rogueKey.Sign(desired);
            _lastCollided = signed ? collide : _lastCollided;

            if (announce)
            {
                Reconcile();
            }
        }

        // The content that serves published again under a new id (a rollback to it): nothing to load.
        private void Republish()
        {
            var version = new FleetVersion { Model = "m", VersionId = $"r{++_published}", Sha256 = _served, SizeBytes = 1, Storage = FleetContentStorage.Store, PublishedBy = "p", PublishedAt = DateTimeOffset.UnixEpoch };
            _redis = Signed(new FleetDesiredVersion { Version = _fleetKey.Sign(version), ChangedBy = "p", Revision = ++_clock });
            _lastCollided = false;
            Reconcile();
        }

        private FleetDesiredVersion Signed(FleetDesiredVersion desired)
        {
            FleetDesiredVersion signed = _fleetKey.Sign(desired);
            _signed.Add(signed);
            _history.Add(signed);
            return _lastSigned = signed;
        }

        // A client without the key writes back the oldest signed record it saw (all of it, signature included).
        private void Replay()
        {
            if (_history.Count > 0)
            {
                _redis = _history[0];
                Reconcile();
            }
        }

        // A client without the key changes the last signed record and keeps its signature: a rollout at the canary stage
        // that keeps this instance on the oldest signed version, or that version as the desired one.
        private void Tamper(bool rollout)
        {
            if (_lastSigned is not { } last || _history.Count == 0)
            {
                return;
            }

            FleetVersion oldest = _history[0].Version;
            if (!rollout && ReferenceEquals(oldest, last.Version))
            {
                return; // nothing older to point at
            }

            _redis = rollout
                ? last with { Rollout = new FleetRollout { Stage = FleetRolloutStage.Canary, CanaryShare = 0.5, Canaries = ["other"], Previous = oldest } }
                : last with { Version = oldest };
            Reconcile();
        }

        private void Reconcile()
        {
            _read = true;
            FleetVersion? wanted = _redis is null ? null : Rollouts.TargetFor(_redis, Instance);
            if (_redis is not null && _signed.Contains(_redis) && (_redis.Revision > _expectedRevision || ReferenceEquals(_redis, _expectedRecord)))
            {
                // The model's rule: a record signed with the fleet's key, of a higher revision than the one followed before
                // (or that one again).
                (_expected, _expectedRevision, _expectedRecord) = (wanted ?? _expected, _redis.Revision, _redis);
            }

            (FleetVersion? target, _) = _entry.Accept(_redis, wanted, _redis is null ? null : _fleetKey.Refusal(_redis, wanted));
            if (target is null || !Reconciliation.NeedsReload(target.Sha256, _state, new ModelVersion(_served, 1, "s", DateTimeOffset.UnixEpoch, 1), _last))
            {
                return;
            }

            string sha = target.Sha256;
            if (_transientNext)
            {
                _transientNext = false;
                (_state, _last) = (ModelCacheState.Degraded, Record(ModelLoadOutcome.Failure, versionId: null));
                return;
            }

            _attempts[sha] = _attempts.GetValueOrDefault(sha) + 1;
            (_state, _last, _served) = _bad.Contains(sha)
                ? (ModelCacheState.Degraded, Record(ModelLoadOutcome.Failure, sha), _served)
                : (ModelCacheState.Ready, Record(ModelLoadOutcome.Success, sha), sha);
        }

        private string? Broken(bool tick)
        {
            if (_bad.Contains(_served))
            {
                return "bad content serves";
            }

            if (!ReferenceEquals(_entry.Accepted, _expected) || _entry.Revision != _expectedRevision)
            {
                return $"the instance aims at {_entry.Accepted?.VersionId ?? "nothing"} (revision {_entry.Revision}), the model at {_expected?.VersionId ?? "nothing"} (revision {_expectedRevision}): a replayed or tampered record moved it, or a signed one did not";
            }

            if (_redis is not null && _fleetKey.Refusal(_redis, _redis.Version) is null != _signed.Contains(_redis))
            {
                return "the signer disagrees with the model about a record";
            }

            if (_attempts.FirstOrDefault(a => _bad.Contains(a.Key) && a.Value > 1) is { Key: { } again })
            {
                return $"bad content {again[..8]} was tried more than once";
            }

            // Having read Redis, the instance aims at the last signed record when Redis holds it (else it keeps what it had).
            if (_read && _lastSigned is not null && !_lastCollided && ReferenceEquals(_redis, _lastSigned) && !ReferenceEquals(_entry.Accepted, _lastSigned.Version))
            {
                return "the instance read Redis and does not aim at the last signed record";
            }

            if (_read && _redis is null && _entry.Missing != (_entry.Accepted is not null))
            {
                return "Redis lost the record, and the instance does not say so (or says so with nothing accepted)";
            }

            if (tick && !_transientNext && !_lastCollided && _lastSigned is { } desired && ReferenceEquals(_redis, desired) && !_bad.Contains(desired.Version.Sha256) && _served != desired.Version.Sha256)
            {
                // One tick may be spent on a transient failure (then the next tick retries); two never are.
                Reconcile();
                if (_served != desired.Version.Sha256)
                {
                    return "a tick left a healthy instance off a good desired version";
                }
            }

            return null;
        }

        private static ModelLoadRecord Record(ModelLoadOutcome outcome, string? versionId) => new(DateTimeOffset.UnixEpoch, ModelLoadReason.SourceChanged, outcome, versionId, outcome == ModelLoadOutcome.Failure ? "failed" : null);

        private static string Sha(string text) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
    }
}
