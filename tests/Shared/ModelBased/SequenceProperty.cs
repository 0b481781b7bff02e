using FsCheck;
using FsCheck.Fluent;

namespace ModelCaching.Testing;

/// <summary>
/// The FsCheck property of a model-based test: random operation sequences generated from a fixed seed (so CI runs the same
/// ones every time and a failure replays), each run against the real code, and a failing one shrunk.
/// </summary>
public static class SequenceProperty
{
    /// <summary>Runs <paramref name="sequences"/> sequences; a broken invariant throws <paramref name="broken"/>'s exception for the shrunk sequence.</summary>
    /// <param name="sequences">How many sequences to generate.</param>
    /// <param name="seed">The replay seed.</param>
    /// <param name="random">Makes a sequence from a generated seed.</param>
    /// <param name="shrink">Smaller sequences to try when one fails.</param>
    /// <param name="run">Runs a sequence; returns the failure (the sequence and its trace) or <see langword="null"/>.</param>
    /// <param name="broken">The exception that reports a failure.</param>
    /// <returns>How many sequences ran, shrinking included.</returns>
    public static int Check<TSequence>(
        int sequences,
        int seed,
        Func<int, TSequence> random,
        Func<TSequence, IEnumerable<TSequence>> shrink,
        Func<TSequence, string?> run,
        Func<string, Exception> broken)
    {
        int runs = 0;
        Arbitrary<TSequence> arbitrary = Arb.From(Gen.Choose(0, int.MaxValue).Select(random), shrink);
        Config config = Config.QuickThrowOnFailure
            .WithMaxTest(sequences)
            .WithReplay(new Replay(new Rnd((ulong)seed, 0x9E3779B97F4A7C15UL), null));
        Prop.ForAll(arbitrary, sequence =>
        {
            Interlocked.Increment(ref runs);
            if (run(sequence) is { } failure)
            {
                throw broken(failure);
            }
        }).Check(config);
        return runs;
    }
}
