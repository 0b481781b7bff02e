using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using ZiggyCreatures.Caching.Fusion;

namespace ModelCaching.Benchmarks.Policies.Peers;

/// <summary>
/// The ways a user could hold taxi-fare.zip with hot reload and fail-safe, by name, each over its own copy of the
/// file in a temp folder (so reloads of one do not wake the others' watchers), and a way to make every reload a real
/// one: <see cref="NextVersion"/> swaps the file for the other of two versions of the model (same model, zip written
/// twice), atomically, as a deployment would.
/// </summary>
internal static class PeerSet
{
    /// <summary>The peers, in table order.</summary>
    public static readonly string[] Names =
    [
        "Lazy<T>",
        "static field",
        "MemoryCache",
        "FusionCache 2.9.0",
        "HybridCache 10.11.0",
        "ObjectPool<PredictionEngine>",
        "ModelCaching lazy",
        "ModelCaching eager",
        "ModelCaching expiring",
    ];

    private static int s_folders;

    /// <summary>The peers named in the environment variable <c>MC_PEERS</c> (comma-separated), or all of them.</summary>
    public static IEnumerable<string> Selected =>
        Environment.GetEnvironmentVariable("MC_PEERS") is { Length: > 0 } selected ? selected.Split(',', StringSplitOptions.TrimEntries) : Names;

    /// <summary>Copies the model to a new temp folder and returns its path there.</summary>
    public static string CopyModel()
    {
        string folder = Path.Combine(Path.GetTempPath(), "mc-peers", $"{Environment.ProcessId}-{Interlocked.Increment(ref s_folders)}");
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, "taxi-fare.zip");
        File.WriteAllBytes(path, TaxiFareModel.Bytes);
        return path;
    }

    /// <summary>Replaces the file at <paramref name="path"/> with the other version (write beside, then rename over it).</summary>
    public static void NextVersion(string path, ref int version)
    {
        version++;
        string next = path + ".next";
        File.WriteAllBytes(next, (version & 1) == 0 ? TaxiFareModel.Bytes : TaxiFareModel.RepackedBytes);
        File.Move(next, path, overwrite: true);
    }

    /// <summary>Builds the peer <paramref name="name"/> over <paramref name="path"/>; lazy peers do not load yet.</summary>
    public static async Task<IHotReloadingModel> CreateAsync(string name, string path, TimeSpan idle) => name switch
    {
        "Lazy<T>" => new LazyHotReload(path),
        "static field" => StaticFieldHotReload.Create(path),
        "MemoryCache" => MemoryCache(path, idle),
        "FusionCache 2.9.0" => FusionCache(path, idle),
        "HybridCache 10.11.0" => HybridCache(path, idle),
        "ObjectPool<PredictionEngine>" => new ObjectPoolHotReload(path),
        "ModelCaching lazy" => await ModelCachingHotReload.StartAsync(path, CachePolicy.Lazy, idle),
        "ModelCaching eager" => await ModelCachingHotReload.StartAsync(path, CachePolicy.Eager, idle),
        "ModelCaching expiring" => await ModelCachingHotReload.StartAsync(path, CachePolicy.Expiring, idle),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown peer; known: " + string.Join(", ", Names)),
    };

    private static MemoryCacheHotReload MemoryCache(string path, TimeSpan idle)
    {
        var cache = new MemoryCache(new MemoryCacheOptions());
        return new MemoryCacheHotReload(cache, path, idle) { Owner = cache };
    }

    private static FusionCacheHotReload FusionCache(string path, TimeSpan idle)
    {
        var cache = new FusionCache(new FusionCacheOptions());
        return new FusionCacheHotReload(cache, path, idle) { Owner = cache };
    }

    private static HybridCacheHotReload HybridCache(string path, TimeSpan idle)
    {
        var services = new ServiceCollection();
        services.AddHybridCache();
        ServiceProvider provider = services.BuildServiceProvider();
        return new HybridCacheHotReload(provider.GetRequiredService<HybridCache>(), path, idle) { Owner = provider };
    }
}
