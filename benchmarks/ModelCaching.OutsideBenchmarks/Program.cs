using System.Reflection;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace ModelCaching.OutsideBenchmarks;

/// <summary>
/// <c>dotnet run -c Release -- --filter '*'</c> runs the BenchmarkDotNet class; <c>dotnet run -c Release -- loop
/// [--seconds S] [--rounds N] [--warmup S] [--csv FILE] [--threads 1,2]</c> runs the throughput loop, and <c>blocks</c> its
/// 1-thread probe for a busy machine (ThroughputLoop.Blocks.cs). benchmarks/run-outside.sh runs the loop and the class.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "loop")
        {
            return ThroughputLoop.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "blocks")
        {
            return ThroughputLoop.RunBlocks(args[1..]);
        }

        // Non-zero when a case did not run (a build that failed, a set-up that threw): run-outside.sh stops on it.
        Summary[] summaries = [.. BenchmarkSwitcher.FromAssembly(Assembly.GetExecutingAssembly()).Run(args)];
        return summaries.Length > 0 && summaries.All(static s => !s.HasCriticalValidationErrors && s.Reports.Length > 0 && s.Reports.All(static r => r.Success)) ? 0 : 1;
    }
}
