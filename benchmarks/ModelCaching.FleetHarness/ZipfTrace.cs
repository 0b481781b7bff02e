namespace ModelCaching.FleetHarness;

/// <summary>
/// A request trace over <c>n</c> tenants with Zipf popularity: the tenant of rank k (0-based) is asked for with a
/// probability proportional to 1 / (k + 1)^s. Rank k is tenant k (<see cref="TenantModels.Id"/>), so tenant t0000 is the
/// hottest. The same seed gives the same trace, in the harness and in the tests.
/// </summary>
/// <remarks>
/// Hand-written (a cumulative table and a binary search, a dozen lines) rather than a statistics package: the repository
/// has none, and this is all the harness needs of one.
/// </remarks>
public static class ZipfTrace
{
    /// <summary>The trace's seed in the harness and the tests.</summary>
    public const int DefaultSeed = 22;

    /// <summary><paramref name="length"/> tenant indexes in [0, <paramref name="tenants"/>), Zipf(<paramref name="exponent"/>) distributed.</summary>
    public static int[] Create(int tenants, int length, double exponent = 1.0, int seed = DefaultSeed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tenants, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var cumulative = new double[tenants];
        double sum = 0;
        for (int k = 0; k < tenants; k++)
        {
            sum += 1.0 / Math.Pow(k + 1, exponent);
            cumulative[k] = sum;
        }

        var random = new Random(seed);
        var trace = new int[length];
        for (int i = 0; i < length; i++)
        {
            int at = Array.BinarySearch(cumulative, random.NextDouble() * sum);
            trace[i] = Math.Min(at < 0 ? ~at : at, tenants - 1);
        }

        return trace;
    }
}
