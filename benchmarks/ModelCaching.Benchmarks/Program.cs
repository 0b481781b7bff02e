using System.Reflection;
using BenchmarkDotNet.Running;

namespace ModelCaching.Benchmarks;

/// <summary>
/// Runs BenchmarkDotNet benchmarks (<c>-- --filter '*CacheHit*'</c>), or one of the harnesses
/// that measure things BenchmarkDotNet cannot (latency percentiles during reloads):
/// <c>-- --harness reload-under-load</c>. <c>-- --harness list</c> lists them.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--harness")
        {
            IHarness[] harnesses = [.. typeof(Program).Assembly.GetTypes()
                .Where(static t => typeof(IHarness).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
                .Select(static t => (IHarness)Activator.CreateInstance(t)!)
                .OrderBy(static h => h.Name, StringComparer.Ordinal)];
            string name = args.Length > 1 ? args[1] : "list";
            IHarness? harness = harnesses.FirstOrDefault(h => h.Name == name);
            if (harness is null)
            {
                Console.WriteLine("Harnesses: " + string.Join(", ", harnesses.Select(static h => h.Name)));
                return name == "list" ? 0 : 1;
            }

            return await harness.RunAsync(args[2..]);
        }

        BenchmarkSwitcher.FromAssembly(Assembly.GetExecutingAssembly()).Run(args);
        return 0;
    }
}

/// <summary>A measurement program run with <c>--harness NAME</c>; prints its results as a Markdown table.</summary>
public interface IHarness
{
    string Name { get; }

    Task<int> RunAsync(string[] args);
}
