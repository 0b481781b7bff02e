using System.Globalization;
using ModelCaching.Fuzz;
using ModelCaching.Fuzz.Targets;

// ModelCaching.Fuzz: feeds random, mutated and truncated zips and zip bombs through every loader behind a real
// ModelCache, and checks after each input that a bad one failed with a ModelLoadException naming the model while the
// last good model kept serving. See README.md for the options and how the committed corpus is made.
if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "README.md")));
    return 0;
}

if (args.Contains("--afl"))
{
    AflTarget.Run();
    return 0;
}

string target = Option(args, "--target", "all");
var settings = new FuzzSettings(
    Targets: target == "all" ? FuzzTargetCatalog.Names : [target],
    Seed: Option(args, "--seed", Random.Shared.Next()),
    Duration: TimeSpan.FromSeconds(Option(args, "--seconds", 60.0)),
    MaxInputs: Option(args, "--max-inputs", long.MaxValue),
    LoadTimeout: TimeSpan.FromSeconds(Option(args, "--load-timeout-seconds", 10.0)),
    BombBytes: Option(args, "--bomb-mib", 1024L) * 1024 * 1024,
    DelegateMaxInflatedBytes: Option(args, "--delegate-max-mib", 256L) * 1024 * 1024,
    MemoryLimitBytes: Option(args, "--memory-limit-mib", 3072L) * 1024 * 1024,
    CorpusDirectory: Option<string?>(args, "--corpus", null),
    MaxCorpusFiles: Option(args, "--max-corpus-files", 40),
    MaxCorpusFileBytes: Option(args, "--max-corpus-file-kib", 64) * 1024,
    ReplayDirectory: Option<string?>(args, "--replay", null),
    FindingsDirectory: Option(args, "--findings", Path.Combine(Path.GetTempPath(), "modelcaching-fuzz-findings")));

string seeds = Path.Combine(AppContext.BaseDirectory, "Seeds");
int bugs = 0;
foreach (string name in settings.Targets)
{
    await using IFuzzTarget fuzzTarget = FuzzTargetCatalog.Create(name, seeds, settings);
    var session = new FuzzSession(fuzzTarget, settings);
    bugs += settings.ReplayDirectory is { } replay ? await session.ReplayAsync(replay) : await session.RunAsync();
}

return bugs == 0 ? 0 : 1;

static T Option<T>(string[] args, string name, T fallback)
{
    int index = Array.IndexOf(args, name);
    if (index < 0 || index + 1 >= args.Length)
    {
        return fallback;
    }

    string value = args[index + 1];
    return typeof(T) == typeof(string) ? (T)(object)value : (T)Convert.ChangeType(value, Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T), CultureInfo.InvariantCulture);
}
