using System.Diagnostics;
using ModelCaching.Tests.ModelBased.Engine;
using Xunit.Abstractions;

namespace ModelCaching.Tests.ModelBased;

/// <summary>
/// The model-based test of issue 17: random sequences of loads, reloads, invalidations, evictions, leases and their
/// disposals, failing, hanging and lying loaders and time advancing, checked after every step against the invariants of
/// <see cref="MbtInvariants"/>. A failing sequence is shrunk by FsCheck to a minimal one, printed step by step.
/// </summary>
/// <remarks>
/// Size by environment: <c>MODELCACHING_MBT_SEQUENCES</c> (default 100), <c>MODELCACHING_MBT_OPS</c> (ops per
/// sequence, default 30), <c>MODELCACHING_MBT_SEED</c> (default 17, so CI runs the same sequences),
/// <c>MODELCACHING_MBT_MINUTES</c> (a soak: batches of sequences with new seeds until the minutes are up),
/// <c>MODELCACHING_MBT_ALL_INVARIANTS=1</c> (check the invariants today's code breaks too).
/// </remarks>
public sealed class BudgetLeasesFailSafePropertyTests(ITestOutputHelper output)
{
    [Fact]
    public void RandomSequencesOfLoadsLeasesFaultsAndTime_KeepEveryInvariantThatIsSwitchedOn()
    {
        int sequences = Setting("MODELCACHING_MBT_SEQUENCES", 100);
        int ops = Setting("MODELCACHING_MBT_OPS", 30);
        int seed = Setting("MODELCACHING_MBT_SEED", 17);
        int minutes = Setting("MODELCACHING_MBT_MINUTES", 0);
        var clock = Stopwatch.StartNew();
        int batches = 0;
        int ran = 0;
        do
        {
            ran += MbtProperty.Check(sequences, ops, seed + batches);
            batches++;
        }
        while (clock.Elapsed < TimeSpan.FromMinutes(minutes));

        // Every generated sequence ran (a broken invariant throws above with its shrunk sequence), and the CI run checks
        // every invariant, not a subset an environment variable chose.
        Assert.Equal(batches * sequences, ran);
        Assert.True(Environment.GetEnvironmentVariable("MODELCACHING_MBT_INVARIANTS") is not null
            || (MbtInvariants.CheckBudgetCap && MbtInvariants.CheckDisposal && MbtInvariants.CheckEventuallyLoads && MbtInvariants.CheckOnlyContentIsBadContent),
            "an invariant is switched off in the CI run");

        output.WriteLine($"{batches * sequences} sequences of {ops} ops ({batches * sequences * ops} steps) in {clock.Elapsed.TotalSeconds:F1} s, seeds {seed}..{seed + batches - 1}; " +
            $"invariants: budget cap {MbtInvariants.CheckBudgetCap} (slack {MbtInvariants.Overdraft} model), disposal {MbtInvariants.CheckDisposal}, eventually loads {MbtInvariants.CheckEventuallyLoads}, only content is bad content {MbtInvariants.CheckOnlyContentIsBadContent}");
    }

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out int value) ? value : fallback;
}
