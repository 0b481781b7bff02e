using FsCheck;
using FsCheck.Fluent;
using ModelCaching.Redis.Tests.Support;

namespace ModelCaching.Redis.Tests.Fleet;

/// <summary>
/// A model-based test of the control plane's withdrawn versions on a real redis-server and three live instances (the
/// canaries are chosen among them): random sequences of plain and canary publishes, aborts, promotes, pins (of the served
/// version or of a kept one by name), unpins and rollbacks, with few versions kept so that pruning happens. The model
/// remembers which versions were taken back (an abort, or a pin or rollback away from a rollout at the canary stage). After
/// each step: the record's withdrawn list is exactly the taken-back versions still kept, in the kept order; an unpin or a
/// rollback never lands on a withdrawn version; a withdrawn version is the desired one only when pinned or as the record
/// of its own aborted rollout; and a refused operation says which model and why.
/// </summary>
public sealed class WithdrawalPropertyTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private const string Model = FleetHost.ModelName;
    private const int Kept = 4;

    [Fact]
    public void WithdrawnVersions_KeepTheirInvariants_OverRandomControlActions()
    {
        Arbitrary<int[]> sequences = Arb.From(
            Gen.Choose(0, int.MaxValue).Select(static seed =>
            {
                var random = new Random(seed);
                return Enumerable.Range(0, random.Next(4, 16)).Select(_ => random.Next(0, 1000)).ToArray();
            }),
            static ops => Enumerable.Range(0, ops.Length).Select(skip => ops.Where((_, i) => i != skip).ToArray()));
        Config config = Config.QuickThrowOnFailure.WithMaxTest(40).WithReplay(new Replay(new Rnd(18UL, 0x9E3779B97F4A7C15UL), null));
        Prop.ForAll(sequences, ops =>
        {
            string? broken = Task.Run(() => RunAsync(ops)).GetAwaiter().GetResult();
            Assert.True(broken is null, $"{broken} after [{string.Join(", ", ops)}]");
        }).Check(config);
    }

    private async Task<string?> RunAsync(int[] ops)
    {
        await using Support.Fleet fleet = await Support.Fleet.StartServingAsync(redis.Server, "v0", "v0", o => o.VersionsKept = Kept);
        var takenBack = new HashSet<string>(StringComparer.Ordinal);
        var trace = new List<string>();
        int next = 1;
        foreach (int op in ops)
        {
            FleetDesiredVersion before = (await fleet.Control.GetDesiredVersionAsync(Model))!;
            IReadOnlyList<FleetVersion> keptBefore = await fleet.Control.GetVersionsAsync(Model);
            (string step, Func<Task<FleetDesiredVersion?>> act) = (op % 7) switch
            {
                0 => ($"publish v{next}", Publish(fleet, $"v{next++}", canary: false)),
                1 => ($"canary v{next}", Publish(fleet, $"v{next++}", canary: true)),
                2 => ("abort", () => Nullable(fleet.Control.AbortAsync(Model))),
                3 => ("promote", () => Nullable(fleet.Control.PromoteAsync(Model))),
                4 when (op / 10) % 3 == 0 => ("pin", () => Nullable(fleet.Control.PinAsync(Model))),
                4 => PinByName(fleet, keptBefore[(op / 10) % keptBefore.Count].VersionId),
                5 => ("unpin", () => Nullable(fleet.Control.UnpinAsync(Model))),
                _ => ("rollback", () => Nullable(fleet.Control.RollbackAsync(Model))),
            };

            FleetDesiredVersion? changed;
            try
            {
                changed = await act();
                trace.Add(step);
            }
            catch (InvalidOperationException refused)
            {
                trace.Add($"{step} (refused)");
                if (!refused.Message.Contains($"model '{Model}'", StringComparison.Ordinal))
                {
                    return $"a refusal that does not name the model: {refused.Message}; trace: {string.Join(" → ", trace)}";
                }

                continue;
            }

            if (changed is not null)
            {
                // What the model takes back: the aborted rollout's version, or a canary-stage version a pin or rollback left.
                if (op % 7 == 2 || (op % 7 is 4 or 6 && before.Rollout is { Stage: FleetRolloutStage.Canary } && changed.Version.VersionId != before.Version.VersionId))
                {
                    takenBack.Add(before.Version.VersionId);
                }
            }

            if (await BrokenAsync(fleet, takenBack, op % 7 is 5 or 6 && changed is not null) is { } broken)
            {
                return $"{broken}; trace: {string.Join(" → ", trace)}";
            }
        }

        return null;
    }

    private static async Task<string?> BrokenAsync(Support.Fleet fleet, HashSet<string> takenBack, bool movedByUnpinOrRollback)
    {
        FleetDesiredVersion desired = (await fleet.Control.GetDesiredVersionAsync(Model))!;
        string[] kept = [.. (await fleet.Control.GetVersionsAsync(Model)).Select(v => v.VersionId)];
        string[] expected = [.. kept.Where(takenBack.Contains)];
        if (!desired.Withdrawn.SequenceEqual(expected))
        {
            return $"withdrawn [{string.Join(", ", desired.Withdrawn)}], expected the taken-back versions still kept [{string.Join(", ", expected)}] (kept: {string.Join(", ", kept)})";
        }

        bool withdrawn = desired.Withdrawn.Contains(desired.Version.VersionId, StringComparer.Ordinal);
        if (withdrawn && movedByUnpinOrRollback)
        {
            return $"an unpin or a rollback moved the fleet to the withdrawn {desired.Version.VersionId}";
        }

        return withdrawn && !desired.Pinned && desired.Rollout?.Stage is not (FleetRolloutStage.Aborted or FleetRolloutStage.Stopped)
            ? $"the withdrawn {desired.Version.VersionId} is the desired version, unpinned, outside its own stopped rollout ({desired.Action}, {desired.Rollout?.Stage})"
            : null;
    }

    private static Func<Task<FleetDesiredVersion?>> Publish(Support.Fleet fleet, string versionId, bool canary) => async () =>
    {
        await fleet.Control.PublishAsync(Model, System.Text.Encoding.UTF8.GetBytes(versionId), new FleetPublishOptions { VersionId = versionId, CanaryShare = canary ? 0.3 : null });
        return null; // a publish takes nothing back
    };

    private static (string, Func<Task<FleetDesiredVersion?>>) PinByName(Support.Fleet fleet, string versionId) =>
        ($"pin {versionId}", () => Nullable(fleet.Control.PinAsync(Model, versionId)));

    private static async Task<FleetDesiredVersion?> Nullable(Task<FleetDesiredVersion> change) => await change;
}
