using System.Reflection;
using Microsoft.Extensions.DependencyInjection;

namespace ModelCaching;

/// <summary>
/// Where relative model paths are resolved (<c>FromFile("models/taxi-fare.zip")</c>, <c>ModelCache:Models:{name}:FilePath</c>):
/// against the host's content root (<c>IHostEnvironment.ContentRootPath</c>) when the services belong to a generic host
/// or ASP.NET Core, as paths in appsettings.json are; against the current directory otherwise (a plain
/// <see cref="IServiceCollection"/>). Absolute paths are left as they are.
/// </summary>
internal sealed class ModelContentRoot
{
    // The core does not reference Microsoft.Extensions.Hosting.Abstractions (it holds only the abstractions it needs,
    // .ci/pack-test checks it), so the host's environment is found by its type's name: every host registers it, and an
    // application without Hosting.Abstractions has no host, hence no content root.
    private static readonly Type? s_hostEnvironment = Type.GetType("Microsoft.Extensions.Hosting.IHostEnvironment, Microsoft.Extensions.Hosting.Abstractions", throwOnError: false);
    private static readonly PropertyInfo? s_contentRootPath = s_hostEnvironment?.GetProperty("ContentRootPath");

    private ModelContentRoot(string? directory) => Directory = directory;

    /// <summary>The host's content root, or <see langword="null"/> without a host.</summary>
    public string? Directory { get; }

    /// <summary>The content root of the host <paramref name="services"/> belong to, if any.</summary>
    public static ModelContentRoot Of(IServiceProvider services)
    {
        object? environment = s_hostEnvironment is null ? null : services.GetService(s_hostEnvironment);
        string? directory = environment is null ? null : s_contentRootPath?.GetValue(environment) as string;
        return new ModelContentRoot(string.IsNullOrWhiteSpace(directory) ? null : directory);
    }

    /// <summary>
    /// <paramref name="path"/> resolved against the content root of the host <paramref name="services"/> belong to;
    /// unchanged when it is absolute or there is no host (the file source then resolves it against the current directory).
    /// </summary>
    public static string Resolve(IServiceProvider services, string path)
    {
        if (Path.IsPathFullyQualified(path))
        {
            return path;
        }

        string? root = (services.GetService<ModelContentRoot>() ?? Of(services)).Directory;
        return root is null ? path : Path.GetFullPath(path, root);
    }

    /// <summary>Resolves the configuration's <c>FilePath</c> (<see cref="ModelOptions.ConfiguredSource"/>) as <see cref="Resolve"/> does.</summary>
    public static void ResolveFilePath(ModelOptions options, IServiceProvider services)
    {
        if (options.ConfiguredSource is { FilePath: { Length: > 0 } path } configured)
        {
            options.ConfiguredSource = configured.WithFilePath(Resolve(services, path));
        }
    }
}
