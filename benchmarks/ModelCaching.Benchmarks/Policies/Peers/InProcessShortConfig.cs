using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace ModelCaching.Benchmarks.Policies.Peers;

/// <summary>
/// The peer benchmarks' job: in the benchmark process itself (no generated project to build per benchmark, which
/// on this shared machine takes longer than the measurement), one launch, 3 warm-up and 10 measured iterations, and
/// parameter values (peer names) printed in full.
/// </summary>
internal sealed class InProcessShortConfig : ManualConfig
{
    public InProcessShortConfig()
    {
        AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(10).WithId("InProcess"));

        // Peer names in full in the tables and the CSV export (the charts read them).
        SummaryStyle = SummaryStyle.Default.WithMaxParameterColumnWidth(40);
    }
}
