using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelCaching.Samples.WebApi;

namespace ModelCaching.Samples.WebApi.Tests.Support;

/// <summary>
/// The sample API, built by <see cref="TaxiFareApp.Build"/> exactly as <c>dotnet run</c> builds it, listening on
/// 127.0.0.1 (a free port) with a model directory of its own in a temporary folder and known API keys.
/// </summary>
internal sealed class SampleServer : IAsyncDisposable
{
    public const string AdminKey = "test-admin-key-5f0c";
    public const string ReaderKey = "test-reader-key-9a41";

    /// <summary>The version ids (SHA-256) of the bundled models.</summary>
    public const string V1Sha256 = "298fde2c1a7ba0b558ea2dd372b52317ac799ad4140926eaf6e32cb8d3475b0b";
    public const string V2Sha256 = "96d9f37cfe4cccb6deb17319252eff734f4c749ff86e92a4deb7ae17cffee2ee";

    /// <summary>Generous: a loaded 2-core CI machine may take a while to see and load a file.</summary>
    public static readonly TimeSpan SignalTimeout = TimeSpan.FromSeconds(60);

    private SampleServer(WebApplication app, HttpClient client, string modelDirectory)
    {
        App = app;
        Client = client;
        ModelDirectory = modelDirectory;
    }

    public WebApplication App { get; }

    public HttpClient Client { get; }

    public string ModelDirectory { get; }

    public string ModelPath => Path.Combine(ModelDirectory, SampleOptions.ModelFileName);

    public IModelCache Cache => App.Services.GetRequiredService<IModelCacheProvider>().GetCache(SampleOptions.ModelName);

    public static string BundledModel(string fileName) => Path.Combine(AppContext.BaseDirectory, "Models", fileName);

    /// <summary>Starts the sample.</summary>
    /// <param name="seed">Whether the sample copies its bundled model into the (empty) model directory at start.</param>
    /// <param name="settings">More configuration, as <c>key=value</c>.</param>
    public static Task<SampleServer> StartAsync(bool seed = true, params string[] settings) => StartAsync(configure: null, seed, settings);

    /// <summary>Starts the sample, with <paramref name="configure"/> changing the builder (Kestrel's limits, say) after the sample's own setup.</summary>
    public static async Task<SampleServer> StartAsync(Action<WebApplicationBuilder>? configure, bool seed = true, params string[] settings)
    {
        string modelDirectory = Path.Combine(Path.GetTempPath(), "modelcaching-webapi-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(modelDirectory);
        string[] args =
        [
            "--urls=http://127.0.0.1:0",
            "--environment=Production",
            $"--contentRoot={AppContext.BaseDirectory}",
            $"--Sample:ModelDirectory={modelDirectory}",
            $"--Sample:SeedModel={(seed ? "Models/taxi-fare.zip" : "")}",
            $"--Admin:AdminKey={AdminKey}",
            $"--Admin:ReaderKey={ReaderKey}",
            "--Admin:AllowAnonymousStatus=false",
            .. settings.Select(static setting => "--" + setting),
        ];

        WebApplication app = TaxiFareApp.Build(args, builder =>
        {
            builder.Logging.ClearProviders();
            configure?.Invoke(builder);
        });
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            Directory.Delete(modelDirectory, recursive: true);
            throw;
        }

        string address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        var client = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(60) };
        return new SampleServer(app, client, modelDirectory);
    }

    /// <summary>A request carrying <paramref name="apiKey"/> in <c>X-Api-Key</c> (none when <see langword="null"/>).</summary>
    public static HttpRequestMessage Request(HttpMethod method, string path, string? apiKey = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (apiKey is not null)
        {
            request.Headers.Add("X-Api-Key", apiKey);
        }

        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return request;
    }

    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? apiKey = null) => Client.SendAsync(Request(method, path, apiKey));

    /// <summary>
    /// A task that completes when the model starts serving <paramref name="versionId"/> (at once if it already is).
    /// Subscribe before causing the change.
    /// </summary>
    public Task<ModelVersion> WhenServingAsync(string versionId)
    {
        var serving = new TaskCompletionSource<ModelVersion>(TaskCreationOptions.RunContinuationsAsynchronously);
        IModelCache cache = Cache;
        EventHandler<ModelReloadedEventArgs> handler = (_, e) =>
        {
            if (e.Current.Id == versionId)
            {
                serving.TrySetResult(e.Current);
            }
        };
        cache.Reloaded += handler;
        if (cache.Version is { } current && current.Id == versionId)
        {
            serving.TrySetResult(current);
        }

        return Wait();

        async Task<ModelVersion> Wait()
        {
            try
            {
                return await serving.Task.WaitAsync(SignalTimeout);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"Model '{cache.Name}' did not start serving version {versionId} within {SignalTimeout}; it is {cache.State} on {cache.Version?.Id ?? "no version"}.");
            }
            finally
            {
                cache.Reloaded -= handler;
            }
        }
    }

    /// <summary>Writes <paramref name="sourceFile"/> over the served model as a deployment would: temporary file, then rename.</summary>
    public void PublishAtomically(string sourceFile)
    {
        string temporary = Path.Combine(ModelDirectory, $".incoming-{Guid.NewGuid():N}.tmp");
        File.Copy(sourceFile, temporary);
        File.Move(temporary, ModelPath, overwrite: true);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        try
        {
            Directory.Delete(ModelDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A file watcher may still hold the directory for a moment; the temp folder is cleaned by the OS.
        }
    }
}
