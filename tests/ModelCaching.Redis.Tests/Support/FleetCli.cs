using System.Diagnostics;

namespace ModelCaching.Redis.Tests.Support;

/// <summary>Runs the command-line tool (tools/ModelCaching.FleetCli, built with this project) as its own process, with a bound.</summary>
public static class FleetCli
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public override string ToString() => $"exit {ExitCode}; stdout: {Output}; stderr: {Error}";
    }

    /// <summary>The tool's assembly, in the same configuration as this test assembly (bin/{configuration}/net10.0).</summary>
    public static string Path
    {
        get
        {
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(System.IO.Path.DirectorySeparatorChar));
            string framework = output.Name;
            string configuration = output.Parent!.Name;
            DirectoryInfo root = output.Parent.Parent!.Parent!.Parent!.Parent!; // tests/ModelCaching.Redis.Tests/bin/{c}/{f}
            return System.IO.Path.Combine(root.FullName, "tools", "ModelCaching.FleetCli", "bin", configuration, framework, "modelcaching-fleet.dll");
        }
    }

    public static async Task<Result> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        using var bound = new CancellationTokenSource(Bound);
        try
        {
            await process.WaitForExitAsync(bound.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"modelcaching-fleet {string.Join(' ', arguments)} did not end within {Bound}");
        }

        return new Result(process.ExitCode, await output, await error);
    }
}
