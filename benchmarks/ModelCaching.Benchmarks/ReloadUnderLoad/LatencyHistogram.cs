namespace ModelCaching.Benchmarks.ReloadUnderLoad;

/// <summary>
/// Counts latencies in log-linear buckets (64 per power of two, so a percentile is within 1.6% of the true
/// value) with a fixed array: recording is an increment, with no allocation and no lock, so one histogram per
/// thread can take millions of calls a second without disturbing what it measures.
/// </summary>
/// <remarks>
/// Hand-written rather than HdrHistogram: that would be a new package in Directory.Packages.props for the
/// forty lines this needs.
/// </remarks>
internal sealed class LatencyHistogram
{
    private const int SubBucketBits = 6;
    private const int SubBuckets = 1 << SubBucketBits;
    private const int Exponents = 48;

    private readonly long[] _counts = new long[Exponents * SubBuckets];
    private long _max;

    public long Count { get; private set; }

    public long MaxNanoseconds => _max;

    public void Record(long nanoseconds)
    {
        nanoseconds = Math.Max(1, nanoseconds);
        _counts[Index(nanoseconds)]++;
        Count++;
        if (nanoseconds > _max)
        {
            _max = nanoseconds;
        }
    }

    public void Add(LatencyHistogram other)
    {
        for (int i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }

        Count += other.Count;
        _max = Math.Max(_max, other._max);
    }

    /// <summary>The latency (ns) below which <paramref name="percentile"/>% of the calls fall: the upper edge of its bucket.</summary>
    public double Percentile(double percentile)
    {
        if (Count == 0)
        {
            return double.NaN;
        }

        long rank = (long)Math.Ceiling(percentile / 100.0 * Count);
        long seen = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return Math.Min(UpperEdge(i), _max);
            }
        }

        return _max;
    }

    private static int Index(long value)
    {
        int exponent = 63 - (int)long.LeadingZeroCount(value);
        if (exponent < SubBucketBits)
        {
            return (int)value; // exact below 64 ns
        }

        int sub = (int)((value >> (exponent - SubBucketBits)) & (SubBuckets - 1));
        return Math.Min(((exponent - SubBucketBits + 1) * SubBuckets) + sub, (Exponents * SubBuckets) - 1);
    }

    private static double UpperEdge(int index)
    {
        if (index < SubBuckets)
        {
            return index;
        }

        int exponent = (index / SubBuckets) + SubBucketBits - 1;
        int sub = index % SubBuckets;
        long width = 1L << (exponent - SubBucketBits);
        return ((long)(SubBuckets + sub) * width) + width - 1;
    }
}
