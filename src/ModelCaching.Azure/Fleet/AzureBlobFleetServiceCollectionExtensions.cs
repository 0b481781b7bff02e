using Microsoft.Extensions.DependencyInjection.Extensions;
using ModelCaching;
using ModelCaching.Fleet;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Lets a fleet (ModelCaching.Redis's <c>AddRedisFleet</c>) publish and read versions kept in Azure blobs.</summary>
public static class AzureBlobFleetServiceCollectionExtensions
{
    /// <summary>
    /// Registers an <see cref="IFleetContentLocationReader"/> for <c>azure-blob://container/blob</c> locations, pinned with
    /// <c>?versionid=…</c> (a blob version) or <c>?snapshot=…</c> (a snapshot), so
    /// <see cref="IModelFleet.PublishLocationAsync"/> accepts them and every instance reads them with
    /// <see cref="AzureBlobModelSource"/> (its size, Content-MD5 and error messages), before the fleet's SHA-256 check.
    /// The location keeps no account and no secret: the client comes from <paramref name="configure"/>. Register it in
    /// the instances and in any process that publishes (the same call).
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configure">Sets the client: a connection string, a service address with a credential (<c>DefaultAzureCredential</c> by default), or none to use the registered <c>BlobServiceClient</c>.</param>
    /// <returns>The same services.</returns>
    /// <exception cref="ArgumentException">The options contradict each other, or the connection string is malformed.</exception>
    public static IServiceCollection AddAzureBlobFleetLocations(this IServiceCollection services, Action<AzureBlobFleetLocationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new AzureBlobFleetLocationOptions();
        configure?.Invoke(options);
        AzureBlobModelSourceOptions settings = options.ToSourceOptions();

        // Made now (no I/O until the first read), so a malformed connection string fails at registration.
        var ownClient = ModelBuilderAzureBlobExtensions.CreateClient("AddAzureBlobFleetLocations", settings);
        object? serviceKey = settings.ServiceKey;
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IFleetContentLocationReader, AzureBlobFleetLocationReader>(sp => new AzureBlobFleetLocationReader(ownClient, serviceKey, sp)));
        return services;
    }
}
