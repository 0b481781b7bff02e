namespace ModelCaching.Benchmarks.ManyModels;

/// <summary>
/// Which model each call of a throughput loop uses: a fixed sequence of model indices made before measuring, so
/// that drawing a random number is not part of the measured call. Bytes, not ints, so the sequence itself (64 KiB
/// per thread) takes a quarter of the cache lines; every way of a run reads a sequence of the same length, so
/// the reading costs them alike.
/// </summary>
internal static class ModelPicks
{
    /// <summary>Calls before a sequence repeats: long enough that a branch predictor cannot learn it.</summary>
    public const int Length = 1 << 16;

    /// <summary>For indexing with <c>i &amp; Mask</c>.</summary>
    public const int Mask = Length - 1;

    /// <summary>Every call on model 0.</summary>
    public static byte[] One() => new byte[Length];

    /// <summary>Each call on one of <paramref name="models"/> models, all equally likely.</summary>
    public static byte[] Uniform(int models, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(models, 256);
        var random = new Random(seed);
        byte[] picks = new byte[Length];
        for (int i = 0; i < picks.Length; i++)
        {
            picks[i] = (byte)random.Next(models);
        }

        return picks;
    }

    /// <summary>
    /// Each call on one of <paramref name="models"/> models with Zipf(<paramref name="exponent"/>) popularity: the
    /// model of rank k is used in proportion to 1 / k^exponent. Ranks are given to models in a shuffled order, so the
    /// popular ones are not the first registered.
    /// </summary>
    public static byte[] Zipf(int models, double exponent, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(models, 256);
        var random = new Random(seed);
        double[] cumulative = new double[models];
        double total = 0;
        for (int k = 0; k < models; k++)
        {
            total += 1 / Math.Pow(k + 1, exponent);
            cumulative[k] = total;
        }

        // The same shuffle on every thread (seed 0): threads share which models are hot, as callers of one service do.
        byte[] modelOfRank = new byte[models];
        for (int k = 0; k < models; k++)
        {
            modelOfRank[k] = (byte)k;
        }

        new Random(0).Shuffle(modelOfRank);
        byte[] picks = new byte[Length];
        for (int i = 0; i < picks.Length; i++)
        {
            int rank = Array.BinarySearch(cumulative, random.NextDouble() * total);
            picks[i] = modelOfRank[rank < 0 ? Math.Min(~rank, models - 1) : rank];
        }

        return picks;
    }

    /// <summary>The share of calls that go to the most used model, for the report.</summary>
    public static double TopShare(byte[] picks)
    {
        int[] counts = new int[256];
        foreach (byte pick in picks)
        {
            counts[pick]++;
        }

        return (double)counts.Max() / picks.Length;
    }

    /// <summary>How many distinct models are used.</summary>
    public static int Distinct(byte[] picks) => picks.Distinct().Count();
}
