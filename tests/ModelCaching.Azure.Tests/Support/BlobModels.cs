using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.ML;

namespace ModelCaching.Azure.Tests.Support;

/// <summary>An app's services with one ML.NET model (or template) read from Azurite, on a fake clock for polling.</summary>
public static class BlobModels
{
    public static readonly TimeSpan PollingInterval = TimeSpan.FromMinutes(1);

    public static FakeTimeProvider NewClock() => new(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));

    /// <summary>The model "taxi" from <paramref name="blobName"/> in <paramref name="container"/>, through a connection string.</summary>
    public static ServiceProvider Build(
        AzuriteServer server,
        BlobContainerClient container,
        string blobName,
        TimeProvider clock,
        Action<AzureBlobModelSourceOptions>? configure = null,
        Action<ModelBuilder<ITransformer>>? more = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(clock);
        services.AddModelCache().AddModel<ITransformer>("taxi", model =>
        {
            model.FromAzureBlob(container.Name, blobName, blob =>
            {
                blob.ConnectionString = server.ConnectionString;
                blob.PollingInterval = PollingInterval;
                blob.PollingJitter = 0;
                configure?.Invoke(blob);
            }).UseMLNet();
            more?.Invoke(model);
        });
        return services.BuildServiceProvider();
    }

    /// <summary>Client options that record each request and give up fast (a dead emulator costs seconds, not minutes).</summary>
    public static BlobClientOptions FastOptions(params global::Azure.Core.Pipeline.HttpPipelinePolicy[] policies)
    {
        var options = new BlobClientOptions();
        options.Retry.MaxRetries = 2;
        options.Retry.Delay = TimeSpan.FromMilliseconds(20);
        options.Retry.MaxDelay = TimeSpan.FromMilliseconds(100);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(5);
        foreach (global::Azure.Core.Pipeline.HttpPipelinePolicy policy in policies)
        {
            options.AddPolicy(policy, global::Azure.Core.HttpPipelinePosition.PerRetry);
        }

        return options;
    }

    public static IModelCache<ITransformer> Taxi(this IServiceProvider services) =>
        services.GetRequiredKeyedService<IModelCache<ITransformer>>("taxi");
}
