// Issue 22's fleet harness: 1,000 tenant models, redis-server, three sample API instances and the router, all real
// processes on loopback; one Zipf trace with placement and without. Reports fleet memory, loads and load time, and the
// router's latency against going straight to an instance, measured once the fleet's processes are quiet after the
// trace (HarnessRun, QuietFleet). See docs/many-models.md ("More than one machine").
//
//   dotnet run -c Release --project benchmarks/ModelCaching.FleetHarness
//   dotnet run -c Release --project benchmarks/ModelCaching.FleetHarness -- --requests 5000 --budget-kib 2048
//
// With --kill-after 0.33 (off by default, so that the figures above stay what they were), the instance that answered the
// most requests is killed with SIGKILL once a third of the trace was answered, and the rest of the trace goes on through
// the router: the failures in flight at the kill and after it, how long the router kept trying the dead instance, when
// its tenants were served again and its names warmed elsewhere, and the survivors' loads after it (KillPhase, KillOutcome).
// --logs (a folder) keeps what each process wrote (the last 64 KB), with their times when there is a kill.
using System.Globalization;
using System.Text;
using ModelCaching.FleetHarness;

var options = HarnessOptions.Parse(args);
string root = HarnessOptions.RepositoryRoot();
string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
string sample = Path.Combine(root, "samples", "ModelCaching.Samples.WebApi", "bin", configuration, "net10.0", "ModelCaching.Samples.WebApi.dll");
string router = Path.Combine(root, "samples", "ModelCaching.Samples.Router", "bin", configuration, "net10.0", "ModelCaching.Samples.Router.dll");

string tenantDirectory = Directory.CreateTempSubdirectory("modelcaching-harness-tenants-").FullName;
try
{
    var clock = System.Diagnostics.Stopwatch.StartNew();
    long tenantBytes = TenantModels.Write(tenantDirectory, options.Tenants, Path.Combine(Path.GetDirectoryName(sample)!, "Models", "taxi-fare.zip"));
    Console.WriteLine($"{options.Tenants:N0} tenant models, {tenantBytes:N0} bytes in all, written in {clock.ElapsedMilliseconds:N0} ms");
    int[] trace = ZipfTrace.Create(options.Tenants, options.Requests, options.Exponent, options.Seed);
    Console.WriteLine($"trace: {options.Requests:N0} requests, Zipf s={options.Exponent} over {options.Tenants:N0} tenants (seed {options.Seed}), {trace.Distinct().Count():N0} distinct; "
        + $"each instance's tenant budget {options.BudgetBytes:N0} bytes ({options.BudgetBytes * options.Tenants / tenantBytes:N0} of the {options.Tenants:N0} models)");

    var rows = new List<HarnessRow>();
    foreach (bool placement in options.Modes)
    {
        var fleetOptions = new RoutedFleetOptions(sample, router, tenantDirectory, placement, options.Replicas, options.BudgetBytes) { TimedLogs = options.KillAfter > 0 };
        Console.WriteLine($"{(placement ? "with" : "without")} placement: starting redis-server, 3 instances and the router…");
        await using RoutedFleet fleet = await RoutedFleet.StartAsync(fleetOptions);
        rows.Add(await HarnessRun.RunAsync(fleet, trace, options));
        Console.WriteLine(rows[^1].Describe());
        if (options.LogDirectory is { } logs)
        {
            Directory.CreateDirectory(logs);
            foreach (ServiceProcess process in fleet.Instances.Append(fleet.Router))
            {
                await File.WriteAllTextAsync(Path.Combine(logs, $"{(placement ? "with" : "without")}-{process.Name}.log"), process.Output);
            }
        }
    }

    Console.WriteLine();
    Console.WriteLine(HarnessRow.Table(rows));
    string csv = Path.GetFullPath(options.CsvPath ?? Path.Combine(root, "docs", "benchmarks", "data", "results", "FleetPlacement.csv"));
    Directory.CreateDirectory(Path.GetDirectoryName(csv)!);
    await File.WriteAllTextAsync(csv, HarnessRow.Csv(rows), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
    Console.WriteLine($"wrote {csv}");
}
finally
{
    Directory.Delete(tenantDirectory, recursive: true);
}

/// <summary>The harness's command line.</summary>
internal sealed record HarnessOptions(int Tenants, int Requests, double Exponent, int Seed, int Concurrency, long BudgetBytes, int Replicas, int LatencyRequests, bool[] Modes, string? CsvPath, double KillAfter, string? LogDirectory)
{
    public static HarnessOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"expected --name value, got '{args[i]}'");
            }

            values[args[i][2..]] = args[i + 1];
        }

        int Int(string name, int fallback) => values.TryGetValue(name, out string? v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        bool[] modes = values.GetValueOrDefault("modes", "without,with").Split(',') is var m
            ? [.. m.Select(mode => mode switch { "without" => false, "with" => true, _ => throw new ArgumentException($"--modes takes without and/or with, not '{mode}'") })]
            : [];
        return new HarnessOptions(
            Int("tenants", 1000),
            Int("requests", 6_000),
            values.TryGetValue("exponent", out string? s) ? double.Parse(s, CultureInfo.InvariantCulture) : 1.0,
            Int("seed", ZipfTrace.DefaultSeed),
            Int("concurrency", 8),
            Int("budget-kib", 4096) * 1024L,
            Int("replicas", 2),
            Int("latency-requests", 4000),
            modes,
            values.GetValueOrDefault("csv"),
            values.TryGetValue("kill-after", out string? k) ? KillShare(double.Parse(k, CultureInfo.InvariantCulture)) : 0,
            values.GetValueOrDefault("logs"));
    }

    /// <summary>The share of the trace answered before the kill: above 0 and below 1.</summary>
    private static double KillShare(double share) =>
        share is > 0 and < 1 ? share : throw new ArgumentOutOfRangeException(nameof(share), share, "--kill-after takes the share of the trace answered before the kill, above 0 and below 1 (0.33)");

    /// <summary>The repository's root: the harness runs from benchmarks/ModelCaching.FleetHarness/bin/{configuration}/{framework}.</summary>
    public static string RepositoryRoot() => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));
}
