using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Templates;

/// <summary>Model files named after tenants in a temporary directory, and a provider with a template over them.</summary>
public sealed class TenantFiles : IDisposable
{
    private readonly TempDirectory _directory = new();

    public FakeLoader Loader { get; } = new();

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));

    public string Directory => _directory.Path;

    public string PathTemplate => Path.Combine(_directory.Path, "{name}.bin");

    /// <summary>Writes the model of <paramref name="name"/>: its content starts with the name and is <paramref name="bytes"/> long.</summary>
    public void Write(string name, int bytes = 100)
    {
        string content = name.PadRight(bytes, '.');
        File.WriteAllText(Path.Combine(_directory.Path, name + ".bin"), content[..bytes]);
    }

    /// <summary>A service collection with the cache and a "tenants" template of <see cref="FakeModel"/>s over the files.</summary>
    /// <param name="cache">Changes the cache's shared options.</param>
    /// <param name="template">Changes the template after its file source and loader are set (or instead of them, without <paramref name="fromFiles"/>).</param>
    /// <param name="templateOptions">Sets the template's own options (budget, prefix).</param>
    /// <param name="fromFiles">Whether the template reads the files (off for a template with a factory).</param>
    public ServiceCollection Services(Action<ModelCacheOptions>? cache = null, Action<ModelBuilder<FakeModel>>? template = null, Action<ModelTemplateOptions>? templateOptions = null, bool fromFiles = true)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(Time);
        services.AddModelCache(options =>
        {
            options.MaxConcurrentLoads = 4;
            cache?.Invoke(options);
        }).AddModelTemplate<FakeModel>(
            "tenants",
            t =>
            {
                if (fromFiles)
                {
                    t.FromFile(PathTemplate).UseLoader(Loader);
                }

                // Tenants keep no rollback bytes: the tests over this helper count the models' own bytes (the raw bytes a
                // rollback keeps are charged too, see FailSafe/GenerationMemoryTests).
                t.Configure(static o =>
                {
                    o.DrainDelay = TimeSpan.Zero;
                    o.RollbackRetention = ModelRollbackRetention.None;
                });
                template?.Invoke(t);
            },
            templateOptions);
        return services;
    }

    public void Dispose() => _directory.Dispose();
}
