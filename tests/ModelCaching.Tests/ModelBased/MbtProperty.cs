using FsCheck;
using FsCheck.Fluent;
using ModelCaching.Tests.ModelBased.Engine;

namespace ModelCaching.Tests.ModelBased;

/// <summary>The FsCheck property over <see cref="MbtSequence"/>s: generation from a seed, shrinking by <see cref="MbtSequence.Shrink"/>.</summary>
public static class MbtProperty
{
    /// <summary>Runs <paramref name="sequences"/> random sequences under FsCheck; throws with the shrunk sequence and its trace on a failure.</summary>
    /// <summary>Runs the property; throws with the shrunk sequence on a broken invariant; returns the sequences run (shrinking included).</summary>
    public static int Check(int sequences, int ops, int seed)
    {
        int runs = 0;
        Arbitrary<MbtSequence> sequencesOfOps = Arb.From(
            Gen.Choose(0, int.MaxValue).Select(s => MbtSequence.Random(s, ops)),
            static sequence => sequence.Shrink());
        Config config = Config.QuickThrowOnFailure
            .WithMaxTest(sequences)
            .WithReplay(new Replay(new Rnd((ulong)seed, 0x9E3779B97F4A7C15UL), null));
        Prop.ForAll(sequencesOfOps, sequence =>
        {
            Interlocked.Increment(ref runs);
            if (MbtRunner.Run(sequence) is { } failure)
            {
                throw new MbtInvariantException(failure);
            }
        }).Check(config);
        return runs;
    }

}

/// <summary>An invariant of the model-based test broke: the message holds the sequence and its trace.</summary>
public sealed class MbtInvariantException(string message) : Exception(message);
