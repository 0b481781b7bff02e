using System.Diagnostics;
using System.Text.RegularExpressions;
using ModelCaching.Samples.WebApi.Tests.Support;
using Xunit.Abstractions;

namespace ModelCaching.Samples.WebApi.Tests.Fleet;

/// <summary>
/// scripts/fleet-routing-demo.sh, run as written (with the builds this project already made): redis-server, three sample
/// processes with the tenants placed and the router start, a dozen tenants' requests go through the router and each
/// answer names its instance, no tenant is loaded on more than two instances, and everything it started is gone when it ends.
/// </summary>
[Collection(SampleProcessCollection.Name)]
public sealed partial class FleetRoutingDemoScriptTests(ITestOutputHelper output)
{
    /// <summary>A bound for a loaded 2-core machine (five processes start), not a wait.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(240);

    [Fact]
    public async Task FleetRoutingDemo_StartsRedisThreeInstancesAndTheRouter_ShowsWhichInstanceAnsweredEachTenant_AndCleansUp()
    {
        string sampleDll = SampleProcess.SampleAssemblyPath;
        string root = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(sampleDll)!, "..", "..", "..", "..", ".."));
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(root, "scripts", "fleet-routing-demo.sh"));
        start.Environment["SAMPLE_DLL"] = sampleDll;
        start.Environment["ROUTER_DLL"] = RoutedFleetFixture.RouterAssemblyPath;

        using Process script = Process.Start(start) ?? throw new InvalidOperationException("bash did not start");
        Task<string> stdout = script.StandardOutput.ReadToEndAsync();
        Task<string> stderr = script.StandardError.ReadToEndAsync();
        using var bound = new CancellationTokenSource(Bound);
        try
        {
            await script.WaitForExitAsync(bound.Token);
        }
        catch (OperationCanceledException)
        {
            script.Kill(entireProcessTree: true);
            Assert.Fail($"scripts/fleet-routing-demo.sh did not end within {Bound}:\n{await stdout}\n{await stderr}");
        }

        string text = await stdout;
        output.WriteLine(text);
        Assert.True(script.ExitCode == 0, $"exit {script.ExitCode}\n{text}\n{await stderr}");

        // Twelve tenants, four answers each, every one naming an instance and giving the tenant's model's fare (every
        // third tenant has v2, which predicts the higher fare).
        MatchCollection tenants = TenantLine().Matches(text);
        Assert.Equal(12, tenants.Count);
        var answeredBy = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match tenant in tenants)
        {
            int number = int.Parse(tenant.Groups["tenant"].Value, System.Globalization.CultureInfo.InvariantCulture);
            string fare = number % 3 == 0 ? "17.12" : "15.57";
            MatchCollection answers = Answer().Matches(tenant.Groups["answers"].Value);
            Assert.Equal(4, answers.Count);
            foreach (Match answer in answers)
            {
                Assert.Equal(fare, answer.Groups["fare"].Value);
                answeredBy.Add(answer.Groups["instance"].Value);
            }
        }

        Assert.Subset(new HashSet<string>(["demo-0", "demo-1", "demo-2"]), answeredBy);
        Assert.True(answeredBy.Count > 1, $"the tenants are spread over the instances, not all on one:\n{text}");

        // Placement: each tenant is loaded on at most two of the three instances (its owners).
        MatchCollection loaded = LoadedLine().Matches(text);
        Assert.Equal(3, loaded.Count);
        foreach (IGrouping<string, string> tenant in loaded.SelectMany(m => m.Groups["tenants"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)).GroupBy(t => t))
        {
            Assert.True(tenant.Count() <= 2, $"tenant {tenant.Key} is loaded on {tenant.Count()} instances:\n{text}");
        }

        // The trap stopped everything it started.
        Match stopped = StoppedPids().Match(text);
        Assert.True(stopped.Success, text);
        Assert.Equal(5, stopped.Groups[1].Value.Split(' ').Length);
        foreach (int pid in stopped.Groups[1].Value.Split(' ').Select(int.Parse))
        {
            Assert.False(IsRunning(pid), $"process {pid} started by the script still runs");
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using Process process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"^  tenant t(?<tenant>[0-9]+):(?<answers>.*)$", RegexOptions.Multiline)]
    private static partial Regex TenantLine();

    [GeneratedRegex(@"^  demo-[0-9]: (?<tenants>.*)$", RegexOptions.Multiline)]
    private static partial Regex LoadedLine();

    [GeneratedRegex(@"(?<instance>demo-[0-9])\((?<fare>[0-9.]+)\)")]
    private static partial Regex Answer();

    [GeneratedRegex(@"stopped redis-server, the instances and the router \(pids ([0-9 ]+)\)")]
    private static partial Regex StoppedPids();
}
