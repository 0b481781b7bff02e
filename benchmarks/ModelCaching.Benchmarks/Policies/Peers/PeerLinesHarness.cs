using System.Globalization;
using System.Text;

namespace ModelCaching.Benchmarks.Policies.Peers;

/// <summary>
/// <c>--harness peer-loc [csv]</c>: counts the lines of user code each peer needs for hot reload with fail-safe: the
/// non-blank, non-comment lines between the <c>// user code begins</c> and <c>// user code ends</c> markers of its file
/// in this folder (a line with only a brace counts: it is code a user writes and reviews), plus lines the user writes
/// that the benchmarks keep elsewhere (ModelCaching's <c>services.AddModelCache().AddModel(...)</c> call, in
/// <see cref="PolicyHost{TModel}"/>). Run from the repository root; writes a CSV when a path is given.
/// </summary>
public sealed class PeerLinesHarness : IHarness
{
    private static readonly (string Peer, string File, int Elsewhere)[] Files =
    [
        ("Lazy<T>", "LazyHotReload.cs", 0),
        ("static field", "StaticFieldHotReload.cs", 0),
        ("MemoryCache", "MemoryCacheHotReload.cs", 0),
        ("FusionCache 2.9.0", "FusionCacheHotReload.cs", 0),
        ("HybridCache 10.11.0", "HybridCacheHotReload.cs", 0),
        ("ObjectPool<PredictionEngine>", "ObjectPoolHotReload.cs", 0),
        ("ModelCaching (any policy)", "ModelCachingHotReload.cs", 1),
    ];

    public string Name => "peer-loc";

    public Task<int> RunAsync(string[] args)
    {
        string folder = Path.Combine("benchmarks", "ModelCaching.Benchmarks", "Policies", "Peers");
        if (!Directory.Exists(folder))
        {
            Console.WriteLine($"Run from the repository root: {folder} not found.");
            return Task.FromResult(1);
        }

        var text = new StringBuilder("Peer,Lines\n");
        Console.WriteLine("| peer | lines of user code for hot reload with fail-safe |");
        Console.WriteLine("|---|---:|");
        foreach ((string peer, string file, int elsewhere) in Files)
        {
            int lines = Count(File.ReadAllLines(Path.Combine(folder, file))) + elsewhere;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {peer} | {lines} |"));
            text.Append(CultureInfo.InvariantCulture, $"\"{peer}\",{lines}\n");
        }

        if (args.Length > 0)
        {
            File.WriteAllText(args[0], text.ToString());
            Console.WriteLine($"Wrote {args[0]}.");
        }

        return Task.FromResult(0);
    }

    private static int Count(string[] lines)
    {
        int count = 0;
        bool inside = false;
        foreach (string raw in lines)
        {
            string line = raw.Trim();
            if (line == "// user code begins")
            {
                inside = true;
            }
            else if (line == "// user code ends")
            {
                inside = false;
            }
            else if (inside && line.Length > 0 && !line.StartsWith("//", StringComparison.Ordinal))
            {
                count++;
            }
        }

        return count;
    }
}
