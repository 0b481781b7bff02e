using ModelCaching.Tests.ModelBased.Engine;

namespace ModelCaching.Tests.ModelBased;

/// <summary>The FsCheck property over <see cref="MbtSequence"/>s: generation from a seed, shrinking by <see cref="MbtSequence.Shrink"/>.</summary>
public static class MbtProperty
{
    /// <summary>Runs <paramref name="sequences"/> random sequences; throws with the shrunk sequence and its trace on a broken invariant.</summary>
    /// <returns>The sequences run, shrinking included.</returns>
    public static int Check(int sequences, int ops, int seed) =>
        SequenceProperty.Check(sequences, seed, s => MbtSequence.Random(s, ops), static sequence => sequence.Shrink(), MbtRunner.Run, static failure => new MbtInvariantException(failure));
}

/// <summary>An invariant of the model-based test broke: the message holds the sequence and its trace.</summary>
public sealed class MbtInvariantException(string message) : Exception(message);
