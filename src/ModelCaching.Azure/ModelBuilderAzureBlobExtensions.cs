using Azure.Identity;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging;
using ModelCaching;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Loads models from Azure Blob Storage.</summary>
public static class ModelBuilderAzureBlobExtensions
{
    /// <summary>
    /// Loads the model from the blob <paramref name="blobName"/> in <paramref name="container"/>, polling for a new
    /// version with requests conditional on its ETag. The storage client comes from
    /// <see cref="AzureBlobModelSourceOptions.ConnectionString"/>, from <see cref="AzureBlobModelSourceOptions.ServiceUri"/>
    /// with a credential (<c>DefaultAzureCredential</c> by default: a managed identity), or from the
    /// <see cref="BlobServiceClient"/> registered in the application's services.
    /// </summary>
    /// <param name="builder">The model's builder.</param>
    /// <param name="container">The container's name (3 to 63 lowercase letters, digits and single hyphens).</param>
    /// <param name="blobName">The blob's name, such as <c>models/taxi-fare.zip</c>. In a template, <c>{name}</c> stands for each model's name: <c>tenants/{name}.zip</c>.</param>
    /// <param name="configure">Sets the client, a pinned version or snapshot, and the polling interval and jitter.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="ArgumentException">The container name is not valid, a template's blob name has no <c>{name}</c>, or the options contradict each other; the message names the model.</exception>
    public static ModelBuilder<TModel> FromAzureBlob<TModel>(this ModelBuilder<TModel> builder, string container, string blobName, Action<AzureBlobModelSourceOptions>? configure = null)
        where TModel : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(container);
        ArgumentException.ThrowIfNullOrWhiteSpace(blobName);
        builder.RequireNamePlaceholder(blobName, nameof(blobName));
        CheckContainerName(builder.Name, container);

        var blobOptions = new AzureBlobModelSourceOptions();
        configure?.Invoke(blobOptions);
        blobOptions.Validate(builder.Name);
        AzureBlobModelSourceOptions settings = blobOptions.Clone();

        // Made now (no I/O happens until the first request), so a malformed connection string fails at registration, and
        // shared by every model of a template: one credential, one token cache and one connection pool.
        BlobServiceClient? ownClient = CreateClient($"Model '{builder.Name}'", settings);
        string modelOrTemplate = builder.Name;
        return builder.Configure((options, services, name) =>
        {
            BlobServiceClient client = ownClient ?? RegisteredClient(services, settings.ServiceKey, modelOrTemplate);

            // A template's name was validated (ModelNames) before it reaches the blob name: no separators, no "..".
            string blob = builder.IsTemplate ? blobName.Replace(ModelBuilder<TModel>.NamePlaceholder, name, StringComparison.Ordinal) : blobName;
            BlobClient blobClient = client.GetBlobContainerClient(container).GetBlobClient(blob);
            options.Source = new AzureBlobModelSource(blobClient, settings, services.GetService<TimeProvider>(), services.GetService<ILoggerFactory>());
            options.OwnsSource = true; // the cache disposes it (its polling timer) with itself
        });
    }

    internal static BlobServiceClient? CreateClient(string who, AzureBlobModelSourceOptions settings)
    {
        if (settings.ConnectionString is { } connectionString)
        {
            try
            {
                return new BlobServiceClient(connectionString, settings.ClientOptions);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException)
            {
                // The SDK's message does not repeat the connection string (which holds the account key).
                throw new ArgumentException($"{who}: ConnectionString is not a storage connection string ({ex.Message}).", nameof(settings.ConnectionString), ex);
            }
        }

        return settings.ServiceUri is { } serviceUri
            ? new BlobServiceClient(serviceUri, settings.Credential ?? new DefaultAzureCredential(), settings.ClientOptions)
            : null;
    }

    private static BlobServiceClient RegisteredClient(IServiceProvider services, object? serviceKey, string modelName)
    {
        BlobServiceClient? client = serviceKey is null ? services.GetService<BlobServiceClient>() : services.GetKeyedService<BlobServiceClient>(serviceKey);
        return client ?? throw new InvalidOperationException(serviceKey is null
            ? $"Model '{modelName}': FromAzureBlob has no storage client. Set ConnectionString or ServiceUri in its options, or register a BlobServiceClient (services.AddSingleton(new BlobServiceClient(...)), or AddAzureClients)."
            : $"Model '{modelName}': FromAzureBlob has no storage client: no BlobServiceClient is registered with the service key '{serviceKey}'.");
    }

    private static void CheckContainerName(string modelName, string container)
    {
        bool valid = AzureBlobNames.IsValidContainer(container);
        if (!valid)
        {
            throw new ArgumentException($"Model '{modelName}': '{container}' is not a valid container name (3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit).", nameof(container));
        }
    }
}
