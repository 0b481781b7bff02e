using FsCheck;
using FsCheck.Fluent;
using ModelCaching.Redis.Instance;
using ModelCaching.Redis.Records;

namespace ModelCaching.Redis.Tests.Instance;

/// <summary>
/// A model-based test of one instance's reconciliation: random sequences of publishes (good, bad, unsigned), lost
/// messages, Redis emptied, transient load failures and reconciliation ticks drive the real <see cref="FleetModelEntry"/>,
/// <see cref="RecordSigner"/> and <see cref="Reconciliation"/> over a simulated cache, and after each step the invariants
/// hold: nothing unsigned or bad ever serves, bad content is tried at most once, and a tick brings a healthy instance onto
/// a good desired version whatever messages were lost.
/// </summary>
public sealed class ReconciliationPropertyTests
{
    private const int Operations = 10;

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
        private FleetDesiredVersion? _redis;
        private FleetDesiredVersion? _lastSigned;
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
                    default: Reconcile(); break; // a reconnect reads everything, as a tick does
                }

                if (Broken(tick: op is 6 or 9) is { } broken)
                {
                    return broken;
                }
            }

            return null;
        }

        private void Publish(bool bad, bool signed, bool announce)
        {
            string content = $"content {++_published}";
            if (bad)
            {
                _bad.Add(Sha(content));
            }

            var version = new FleetVersion { Model = "m", VersionId = $"v{_published}", Sha256 = Sha(content), SizeBytes = 1, Storage = FleetContentStorage.Store, PublishedBy = "p", PublishedAt = DateTimeOffset.UnixEpoch };
            _redis = new FleetDesiredVersion { Version = signed ? _fleetKey.Sign(version) : _rogueKey.Sign(version), ChangedBy = "p" };
            if (signed)
            {
                _lastSigned = _redis;
            }

            if (announce)
            {
                Reconcile();
            }
        }

        // The content that serves published again under a new id (a rollback to it): nothing to load.
        private void Republish()
        {
            var version = new FleetVersion { Model = "m", VersionId = $"r{++_published}", Sha256 = _served, SizeBytes = 1, Storage = FleetContentStorage.Store, PublishedBy = "p", PublishedAt = DateTimeOffset.UnixEpoch };
            _redis = _lastSigned = new FleetDesiredVersion { Version = _fleetKey.Sign(version), ChangedBy = "p" };
            Reconcile();
        }

        private void Reconcile()
        {
            _read = true;
            (FleetVersion? target, _) = _entry.Accept(_redis, _redis?.Version, _redis is null ? null : _fleetKey.Refusal(_redis.Version));
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

            if (_redis is not null && _fleetKey.Refusal(_redis.Version) is null != ReferenceEquals(_redis, _lastSigned))
            {
                return "the signer disagrees with the model about a record";
            }

            if (_attempts.FirstOrDefault(a => _bad.Contains(a.Key) && a.Value > 1) is { Key: { } again })
            {
                return $"bad content {again[..8]} was tried more than once";
            }

            // Having read Redis, the instance aims at the last signed record when Redis holds it (else it keeps what it had).
            if (_read && _lastSigned is not null && ReferenceEquals(_redis, _lastSigned) && !ReferenceEquals(_entry.Accepted, _lastSigned.Version))
            {
                return "the instance read Redis and does not aim at the last signed record";
            }

            if (_read && _redis is null && _entry.Missing != (_entry.Accepted is not null))
            {
                return "Redis lost the record, and the instance does not say so (or says so with nothing accepted)";
            }

            if (tick && !_transientNext && _lastSigned is { } desired && ReferenceEquals(_redis, desired) && !_bad.Contains(desired.Version.Sha256) && _served != desired.Version.Sha256)
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
