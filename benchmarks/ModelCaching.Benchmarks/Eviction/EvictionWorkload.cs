namespace ModelCaching.Benchmarks.Eviction;

/// <summary>
/// One simulated tenant population and its request trace: <see cref="ModelCount"/> models with log-normal sizes
/// (1 MiB to 100 MiB, median 10 MiB), load times proportional to size with log-normal noise plus a fixed latency, and
/// Zipf(s) requests whose rank order is a shuffle independent of size, so hot models come in every size.
/// </summary>
internal sealed class EvictionWorkload
{
    public const long MiB = 1024 * 1024;

    /// <summary>Fixed part of every load (open, deserialize, warm up), seconds.</summary>
    public const double LoadLatencySeconds = 0.05;

    /// <summary>Bytes per second a load reads and deserializes, before noise.</summary>
    public const double LoadBytesPerSecond = 200 * MiB;

    private EvictionWorkload(long[] sizes, double[] costs, int[] trace, int[] nextUse, int warmUp, double zipfS)
    {
        Sizes = sizes;
        Costs = costs;
        Trace = trace;
        NextUse = nextUse;
        WarmUp = warmUp;
        ZipfS = zipfS;
        foreach (long size in sizes)
        {
            TotalBytes += size;
        }
    }

    public int ModelCount => Sizes.Length;

    /// <summary>Bytes of each model.</summary>
    public long[] Sizes { get; }

    /// <summary>Seconds each load of each model takes.</summary>
    public double[] Costs { get; }

    /// <summary>The model requested by each request.</summary>
    public int[] Trace { get; }

    /// <summary>For each request, the index of the next request of the same model (<see cref="int.MaxValue"/> if none).</summary>
    public int[] NextUse { get; }

    /// <summary>Requests at the start of <see cref="Trace"/> that warm the cache and are not counted.</summary>
    public int WarmUp { get; }

    public double ZipfS { get; }

    public long TotalBytes { get; }

    /// <summary>
    /// Builds the population from <paramref name="seed"/> alone (the same models for every s) and the trace from
    /// <paramref name="seed"/> and <paramref name="zipfS"/>. With <paramref name="shiftEvery"/> &gt; 0, popularity moves
    /// every that many requests: each of the 100 hottest ranks changes places with a random colder one (new hot tenants,
    /// old ones cooling down).
    /// </summary>
    public static EvictionWorkload Create(int seed, double zipfS, int models, int warmUp, int measured, int shiftEvery = 0)
    {
        var population = new Random(seed);
        long[] sizes = new long[models];
        double[] costs = new double[models];
        for (int i = 0; i < models; i++)
        {
            double mib = Math.Clamp(Math.Exp(Math.Log(10) + Gaussian(population)), 1, 100);
            sizes[i] = (long)(mib * MiB);
            costs[i] = LoadLatencySeconds + (sizes[i] / LoadBytesPerSecond * Math.Exp(0.5 * Gaussian(population)));
        }

        // Rank r (0 = hottest) is model rankToModel[r]: a shuffle, so popularity does not follow size.
        int[] rankToModel = new int[models];
        for (int i = 0; i < models; i++)
        {
            rankToModel[i] = i;
        }

        population.Shuffle(rankToModel);

        double[] cumulative = new double[models];
        double sum = 0;
        for (int r = 0; r < models; r++)
        {
            sum += 1 / Math.Pow(r + 1, zipfS);
            cumulative[r] = sum;
        }

        var requests = new Random(unchecked((seed * 7919) + (int)Math.Round(zipfS * 1000)));
        int[] trace = new int[warmUp + measured];
        for (int i = 0; i < trace.Length; i++)
        {
            if (shiftEvery > 0 && i > 0 && i % shiftEvery == 0)
            {
                for (int r = 0; r < Math.Min(100, models / 2); r++)
                {
                    int colder = requests.Next(Math.Min(100, models / 2), models);
                    (rankToModel[r], rankToModel[colder]) = (rankToModel[colder], rankToModel[r]);
                }
            }

            int rank = Array.BinarySearch(cumulative, requests.NextDouble() * sum);
            rank = rank < 0 ? ~rank : rank;
            trace[i] = rankToModel[Math.Min(rank, models - 1)];
        }

        int[] nextUse = new int[trace.Length];
        int[] seenAt = new int[models];
        Array.Fill(seenAt, int.MaxValue);
        for (int i = trace.Length - 1; i >= 0; i--)
        {
            nextUse[i] = seenAt[trace[i]];
            seenAt[trace[i]] = i;
        }

        return new EvictionWorkload(sizes, costs, trace, nextUse, warmUp, zipfS);
    }

    private static double Gaussian(Random random)
    {
        // Box-Muller; 1 - NextDouble() is in (0, 1], so the logarithm is finite.
        double u1 = 1 - random.NextDouble();
        double u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
