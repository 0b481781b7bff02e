namespace ModelCaching.Benchmarks.Eviction;

/// <summary>What one policy did over the measured part of a trace.</summary>
internal sealed record SimulationResult(
    string Policy,
    long Requests,
    long Hits,
    double HitBytes,
    double RequestedBytes,
    double LoadSeconds,
    long PeakResidentBytes,
    TimeSpan Elapsed)
{
    public double HitRatio => (double)Hits / Requests;

    public double ByteHitRatio => HitBytes / RequestedBytes;
}
