using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;

namespace ModelCaching.Benchmarks.Policies.Peers;

/// <summary>
/// Hot reload with fail-safe on ModelCaching: the file is watched (debounced; atomic renames and symlink swaps seen),
/// a failed load keeps the last good model and is retried. The user's code is the registration: the
/// <c>services.AddModelCache().AddModel(...)</c> call (in <see cref="PolicyHost{TModel}"/>, which also adds the policy,
/// one more call for eager or expiring, and starts the host as an application's host would) and the source line
/// below; <c>--harness peer-loc</c> counts both.
/// </summary>
internal sealed class ModelCachingHotReload : IHotReloadingModel
{
    private readonly PolicyHost<ITransformer> _host;

    private ModelCachingHotReload(PolicyHost<ITransformer> host, CachePolicy policy)
    {
        _host = host;
        Name = "ModelCaching " + policy.ToString().ToLowerInvariant();
    }

    public IModelCache<ITransformer> Cache => _host.Cache;

    public string Name { get; }

    public static async Task<ModelCachingHotReload> StartAsync(string path, CachePolicy policy, TimeSpan idle)
    {
        PolicyHost<ITransformer> host = await PolicyHost<ITransformer>.StartAsync(policy, "taxi-fare", model => Register(model, path), timeToLive: TimeSpan.FromHours(1), idleTimeout: idle, configure: static options => options.DrainDelay = TimeSpan.FromMilliseconds(250));
        return new ModelCachingHotReload(host, policy);
    }

    public object Hit() => _host.Cache.GetModel();

    public void Reload() => _host.Cache.ReloadAsync().GetAwaiter().GetResult();

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private static void Register(ModelBuilder<ITransformer> model, string path) =>
        // user code begins
        model.FromFile(path, watchForChanges: true).UseMLNet();
        // user code ends
}
