using System.Diagnostics;
using System.Text.RegularExpressions;
using ModelCaching.Samples.WebApi.Tests.Support;
using Xunit.Abstractions;

namespace ModelCaching.Samples.WebApi.Tests.Fleet;

/// <summary>
/// README's fleet command, scripts/fleet-demo.sh, run as written (with the builds this project already made): redis-server
/// and three sample processes start, v2 is published with modelcaching-fleet, all three switch, and everything it started is
/// gone when it ends.
/// </summary>
[Collection(SampleProcessCollection.Name)]
public sealed partial class FleetDemoScriptTests(ITestOutputHelper output)
{
    /// <summary>A bound for a loaded 2-core machine (four processes start), not a wait.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(240);

    [Fact]
    public async Task FleetDemo_StartsRedisAndThreeInstances_PublishesV2_AllThreeSwitch_AndCleansUp()
    {
        string sampleDll = SampleProcess.SampleAssemblyPath;
        string root = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(sampleDll)!, "..", "..", "..", "..", ".."));
        string cli = Path.Combine(root, "tools", "ModelCaching.FleetCli", "bin", new DirectoryInfo(Path.GetDirectoryName(sampleDll)!).Parent!.Name, "net10.0", "modelcaching-fleet.dll");
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(root, "scripts", "fleet-demo.sh"));
        start.Environment["SAMPLE_DLL"] = sampleDll;
        start.Environment["FLEET_CLI_DLL"] = cli;

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
            Assert.Fail($"scripts/fleet-demo.sh did not end within {Bound}:\n{await stdout}\n{await stderr}");
        }

        string text = await stdout;
        output.WriteLine(text);
        Assert.True(script.ExitCode == 0, $"exit {script.ExitCode}\n{text}\n{await stderr}");

        string before = Between(text, "before:", "published taxi-fare version");
        string after = Between(text, "after (", "the fleet as Redis holds it");
        Assert.Equal(3, Regex.Matches(before, $"version {SampleServer.V1Sha256[..12]}").Count);
        Assert.Equal(3, Regex.Matches(after, $"version {SampleServer.V2Sha256[..12]}").Count);
        Assert.Contains("on 3 (of 3 instance(s))", text, StringComparison.Ordinal);

        // The trap stopped everything it started.
        Match stopped = StoppedPids().Match(text);
        Assert.True(stopped.Success, text);
        foreach (int pid in stopped.Groups[1].Value.Split(' ').Select(int.Parse))
        {
            Assert.False(IsRunning(pid), $"process {pid} started by the script still runs");
        }
    }

    private static string Between(string text, string from, string to)
    {
        int start = text.IndexOf(from, StringComparison.Ordinal);
        int end = text.IndexOf(to, start + 1, StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, $"'{from}' … '{to}' not found in:\n{text}");
        return text[start..end];
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

    [GeneratedRegex(@"stopped redis-server and the instances \(pids ([0-9 ]+)\)")]
    private static partial Regex StoppedPids();
}
