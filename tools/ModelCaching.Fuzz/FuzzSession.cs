using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using ModelCaching.Fuzz.Mutation;
using ModelCaching.Fuzz.Targets;

namespace ModelCaching.Fuzz;

/// <summary>
/// One target's run: the zip bombs first, then mutated inputs until the time budget or the input count runs out.
/// An input whose failure signature is new is kept as a parent for further mutations and, with
/// <see cref="FuzzSettings.CorpusDirectory"/>, saved to the corpus with a line in its <c>index.tsv</c>.
/// </summary>
public sealed class FuzzSession(IFuzzTarget target, FuzzSettings settings)
{
    private const string IndexFile = "index.tsv";

    private readonly Dictionary<string, (FuzzOutcome Outcome, int Count, string Example)> _signatures = new(StringComparer.Ordinal);
    private readonly Dictionary<FuzzOutcome, long> _outcomes = [];
    private readonly HashSet<string> _knownSignatures = new(StringComparer.Ordinal);
    private readonly Process _process = Process.GetCurrentProcess();
    private int _saved;
    private TimeSpan _slowest;
    private string _slowestSignature = "";
    private int _bugs;

    /// <summary>Fuzzes the target; returns the number of inputs that broke a promise (bugs, hangs, out of memory).</summary>
    public async Task<int> RunAsync()
    {
        // Not HashCode.Combine: it is randomized per process, and a seed must replay the same inputs.
        var random = new Random(unchecked((settings.Seed * 31) + target.Name.GetHashCodeStable()));
        var mutator = new ZipMutator(random);
        await target.StartAsync();
        List<byte[]> pool = [.. target.Seeds, .. ReadCorpus()];
        Console.WriteLine($"== {target.Name}: seed {settings.Seed}, {settings.Duration.TotalSeconds:0} s budget, {pool.Count} starting inputs ({target.Seeds.Count} seeds), load timeout {settings.LoadTimeout.TotalSeconds:0} s");

        if (settings.BombBytes > 0)
        {
            await RunBombsAsync();
        }

        var clock = Stopwatch.StartNew();
        TimeSpan nextReport = TimeSpan.FromSeconds(10);
        long inputs = 0;
        while (clock.Elapsed < settings.Duration && inputs < settings.MaxInputs)
        {
            byte[] parent = pool[random.Next(pool.Count)];
            (byte[] input, string mutation) = mutator.Mutate(parent, pool);
            FuzzResult result = await RunOneAsync(input);
            inputs++;
            if (Record(result, input, mutation) && input.Length <= settings.MaxCorpusFileBytes)
            {
                // A new way to fail (or to load) is a parent worth mutating further.
                pool.Add(input);
            }

            if (clock.Elapsed >= nextReport)
            {
                nextReport += TimeSpan.FromSeconds(10);
                Console.WriteLine($"   {clock.Elapsed.TotalSeconds,5:0} s: {inputs:N0} inputs ({inputs / clock.Elapsed.TotalSeconds:0} /s), {_signatures.Count} signatures, {Summary()}");
            }
        }

        Report(inputs, clock.Elapsed);
        return _bugs;
    }

    /// <summary>Replays every file of <paramref name="directory"/>; returns the number that broke a promise.</summary>
    public async Task<int> ReplayAsync(string directory)
    {
        await target.StartAsync();
        Console.WriteLine($"== {target.Name}: replaying {directory}");
        var clock = Stopwatch.StartNew();
        long inputs = 0;
        foreach (string file in Directory.EnumerateFiles(directory).Where(static f => !f.EndsWith(".tsv", StringComparison.Ordinal) && !f.EndsWith(".md", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            FuzzResult result = await RunOneAsync(await File.ReadAllBytesAsync(file));
            inputs++;
            Count(result);
            Console.WriteLine($"   {Path.GetFileName(file)}: {result.Outcome} {result.Signature}");
            if (IsBroken(result.Outcome))
            {
                _bugs++;
                Console.WriteLine(result.Detail);
            }
        }

        Report(inputs, clock.Elapsed);
        return _bugs;
    }

    private async Task RunBombsAsync()
    {
        foreach (byte[] seed in target.Seeds.Take(1))
        {
            foreach ((string name, byte[] bomb) in ZipBombs.All(seed, settings.BombBytes))
            {
                long peakBefore = PeakWorkingSet();
                var clock = Stopwatch.StartNew();
                FuzzResult result = await RunOneAsync(bomb);
                Record(result, bomb, name);
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"   {name}: {bomb.Length:N0} bytes zipped, {settings.BombBytes / (1024 * 1024):N0} MiB inflated: {result.Outcome} in {clock.Elapsed.TotalSeconds:0.0} s, peak working set +{(PeakWorkingSet() - peakBefore) / (1024 * 1024):N0} MiB: {Shorten(result.Signature)}"));
            }
        }
    }

    private async Task<FuzzResult> RunOneAsync(byte[] input)
    {
        long started = Stopwatch.GetTimestamp();
        FuzzResult result = await target.RunAsync(input);
        TimeSpan elapsed = Stopwatch.GetElapsedTime(started);
        if (elapsed > _slowest)
        {
            _slowest = elapsed;
            _slowestSignature = result.Signature;
            if (elapsed > settings.LoadTimeout / 10)
            {
                // Not a broken promise, but worth a look: a load that takes seconds is close to a hang on a busy machine.
                Console.WriteLine($"~~ slowest input so far: {elapsed.TotalSeconds:0.0} s, {result.Outcome}: {Shorten(result.Signature)}");
                SaveFinding(result, input, "slow", "slow");
            }
        }

        _process.Refresh();
        if (_process.WorkingSet64 > settings.MemoryLimitBytes)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            _process.Refresh();
            if (_process.WorkingSet64 > settings.MemoryLimitBytes)
            {
                return result with { Outcome = FuzzOutcome.OutOfMemory, Signature = "memory: working set over the limit after " + result.Signature };
            }
        }

        return result;
    }

    /// <summary>Counts the result; returns whether its signature is new.</summary>
    private bool Record(FuzzResult result, byte[] input, string mutation)
    {
        Count(result);
        if (_signatures.TryGetValue(result.Signature, out (FuzzOutcome Outcome, int Count, string Example) seen))
        {
            _signatures[result.Signature] = seen with { Count = seen.Count + 1 };
            return false;
        }

        _signatures[result.Signature] = (result.Outcome, 1, result.Detail);
        if (IsBroken(result.Outcome))
        {
            _bugs++;
            Console.WriteLine($"!! {result.Outcome} ({mutation}): {result.Detail}");
            SaveFinding(result, input, mutation, result.Outcome.ToString().ToLowerInvariant());
            return true;
        }

        Save(result, input, mutation);
        return true;
    }

    private void Count(FuzzResult result) => _outcomes[result.Outcome] = _outcomes.GetValueOrDefault(result.Outcome) + 1;

    private static bool IsBroken(FuzzOutcome outcome) => outcome is FuzzOutcome.Bug or FuzzOutcome.Hang or FuzzOutcome.OutOfMemory;

    private void Save(FuzzResult result, byte[] input, string mutation)
    {
        if (settings.CorpusDirectory is not { } directory || _saved >= settings.MaxCorpusFiles || input.Length > settings.MaxCorpusFileBytes
            || _knownSignatures.Contains(result.Signature))
        {
            return;
        }

        Directory.CreateDirectory(directory);
        string hash = Convert.ToHexStringLower(SHA256.HashData(input))[..12];
        if (Directory.EnumerateFiles(directory, $"*-{hash}.zip").Any())
        {
            // The same bytes, saved by another target.
            return;
        }

        string file = $"{target.Name}-{result.Outcome.ToString().ToLowerInvariant()}-{hash}.zip";
        File.WriteAllBytes(Path.Combine(directory, file), input);
        File.AppendAllText(Path.Combine(directory, IndexFile), $"{file}\t{target.Name}\t{result.Outcome}\t{mutation}\t{result.Signature.Replace('\t', ' ').Replace('\n', ' ')}\n");
        _knownSignatures.Add(result.Signature);
        _saved++;
    }

    /// <summary>
    /// Keeps an input that broke a promise or was slow, whatever the corpus limits, in
    /// <see cref="FuzzSettings.FindingsDirectory"/>, apart from the corpus (whose replay must pass).
    /// </summary>
    private void SaveFinding(FuzzResult result, byte[] input, string mutation, string kind)
    {
        string findings = settings.FindingsDirectory;
        Directory.CreateDirectory(findings);
        string file = $"{target.Name}-{kind}-{Convert.ToHexStringLower(SHA256.HashData(input))[..12]}.zip";
        File.WriteAllBytes(Path.Combine(findings, file), input);
        File.AppendAllText(Path.Combine(findings, IndexFile), $"{file}\t{target.Name}\t{result.Outcome}\t{mutation}\t{result.Signature.Replace('\t', ' ').Replace('\n', ' ')}\n");
    }

    /// <summary>The corpus files, as more parents; their signatures (from the index) are not saved again.</summary>
    private IEnumerable<byte[]> ReadCorpus()
    {
        if (settings.CorpusDirectory is not { } directory || !Directory.Exists(directory))
        {
            yield break;
        }

        string index = Path.Combine(directory, IndexFile);
        if (File.Exists(index))
        {
            foreach (string line in File.ReadLines(index))
            {
                string[] fields = line.Split('\t');
                if (fields.Length >= 5 && fields[1] == target.Name)
                {
                    _knownSignatures.Add(fields[4]);
                }
            }
        }

        foreach (string file in Directory.EnumerateFiles(directory, "*.zip").Order(StringComparer.Ordinal))
        {
            yield return File.ReadAllBytes(file);
        }
    }

    private long PeakWorkingSet()
    {
        _process.Refresh();
        return _process.PeakWorkingSet64;
    }

    private string Summary() => string.Join(", ", _outcomes.OrderBy(static o => o.Key).Select(static o => $"{o.Key} {o.Value:N0}"));

    private void Report(long inputs, TimeSpan elapsed)
    {
        _process.Refresh();
        Console.WriteLine($"== {target.Name}: {inputs:N0} inputs in {elapsed.TotalSeconds:0} s; {Summary()}; {_signatures.Count} signatures; {_saved} saved to the corpus; peak working set {_process.PeakWorkingSet64 / (1024 * 1024):N0} MiB; slowest input {_slowest.TotalSeconds:0.00} s ({Shorten(_slowestSignature)})");
        foreach ((string signature, (FuzzOutcome outcome, int count, string example)) in _signatures.OrderByDescending(static s => s.Value.Count).Take(25))
        {
            Console.WriteLine($"   {count,7:N0}  {outcome,-12} {Shorten(signature)}");
            if (outcome != FuzzOutcome.Loaded)
            {
                // What a user would read: the first line of the exception.
                Console.WriteLine($"            {Shorten(example.Split('\n')[0])}");
            }
        }

        Console.WriteLine(_bugs == 0 ? $"== {target.Name}: no broken promise." : $"== {target.Name}: {_bugs} broken promise(s), see the !! lines.");
    }

    private static string Shorten(string text) => text.Length > 400 ? text[..400] + "…" : text;
}
