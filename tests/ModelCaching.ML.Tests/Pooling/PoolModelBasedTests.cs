using System.Diagnostics;
using ModelCaching.ML.Tests.Pooling.ModelBased;
using Xunit.Abstractions;

namespace ModelCaching.ML.Tests.Pooling;

/// <summary>
/// The prediction pool's model-based test: random sequences of predictions (fast path, by reference, batches), leases
/// rented, used, given back once and twice, predictions that throw (from the input, from the prediction's constructor),
/// reloads, rollbacks, unloads and the pool's disposal, some of them on a second thread, run against a real pool over a
/// real model (iris.zip ↔ taxi-fare.zip) and checked after every step by <see cref="PoolRunner"/>. A failing sequence is
/// shrunk by FsCheck to a minimal one, printed step by step with its trace.
/// </summary>
/// <remarks>
/// Size by environment: <c>MODELCACHING_POOL_MBT_SEQUENCES</c> (per policy, default 30), <c>MODELCACHING_POOL_MBT_OPS</c>
/// (the longest sequence, default 60), <c>MODELCACHING_POOL_MBT_SEED</c> (default 17, so CI runs the same sequences; a
/// failure prints the seed FsCheck replays).
/// </remarks>
public sealed class PoolModelBasedTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(PoolExhaustionPolicy.CreateExtra)]
    [InlineData(PoolExhaustionPolicy.Wait)]
    public void RandomSequencesOfPredictionsLeasesFaultsAndSwaps_KeepThePoolsInvariants(PoolExhaustionPolicy policy)
    {
        int sequences = Setting("MODELCACHING_POOL_MBT_SEQUENCES", 30);
        int ops = Setting("MODELCACHING_POOL_MBT_OPS", 60);
        int seed = Setting("MODELCACHING_POOL_MBT_SEED", 17);
        var clock = Stopwatch.StartNew();

        var coverage = new PoolCoverage();

        int ran = Check(policy, sequences, ops, seed, coverage);

        output.WriteLine($"{policy}: {ran} sequences of 10-{ops} ops in {clock.Elapsed.TotalSeconds:F1} s, seed {seed}; reached:{Environment.NewLine}{coverage}");

        // Every generated sequence ran (a broken invariant throws above with its shrunk sequence), and the runs reached
        // what the invariants are about: the policy's answer to a pool with every engine leased, engines dropped on the
        // fast path and off it, swaps with leases of the old generation still out.
        Assert.Equal(sequences, ran);
        Assert.True(coverage["every engine of a generation leased"] > 0, "no run leased every engine");
        Assert.True(coverage[policy == PoolExhaustionPolicy.Wait ? "a call waited for a lease to come back" : "an extra engine created"] > 0, $"no run exhausted the pool under {policy}");
        Assert.True(coverage["the kept engine dropped by a throwing call"] > 0, "no throwing call on a kept engine");
        Assert.True(coverage["an engine dropped by a throwing call"] > coverage["the kept engine dropped by a throwing call"], "no throwing call off the fast path");
        Assert.True(coverage["a retired generation's leased engine used"] > 0, "no lease outlived its generation");
    }

    /// <summary>Runs <paramref name="sequences"/> random sequences under FsCheck; throws with the shrunk sequence and its trace on a failure.</summary>
    internal static int Check(PoolExhaustionPolicy policy, int sequences, int ops, int seed, PoolCoverage? coverage = null) =>
        SequenceProperty.Check(
            sequences,
            seed,
            s => PoolSequence.Random(s, policy, ops),
            static sequence => sequence.Shrink(),
            sequence => PoolRunner.Run(sequence, coverage),
            failure => new PoolInvariantException($"{failure}{Environment.NewLine}(replay: MODELCACHING_POOL_MBT_SEED={seed}, {policy})"));

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out int value) ? value : fallback;
}

/// <summary>An invariant of the pool's model-based test broke: the message holds the sequence and its trace.</summary>
public sealed class PoolInvariantException(string message) : Exception(message);
