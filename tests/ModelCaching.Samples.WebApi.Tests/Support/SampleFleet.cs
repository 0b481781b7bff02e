using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ModelCaching.Redis.Tests.Support;

namespace ModelCaching.Samples.WebApi.Tests.Support;

/// <summary>
/// One real redis-server and three OS processes of the sample API in one fleet (<c>ModelCache:Fleet</c> set through
/// environment variables), started together; each instance's id is <c>sample-{i}</c>. Everything is checked through the
/// instances' own HTTP endpoints. Every process (and redis-server) is killed on dispose, also when a start fails.
/// </summary>
public sealed class SampleFleet : IAsyncLifetime
{
    public const string AdminKey = "fleet-admin-key-3c9e";
    public const string ModelName = "taxi-fare";
    public const string IrisSha256 = "35d0da9dd368fb304ba62e8aaa4fda2bf1b955d2a8994cd851b2601621919bf2";

    /// <summary>A bound for a loaded 2-core machine, not a wait: a passing check returns as soon as it holds.</summary>
    public static readonly TimeSpan SignalBound = TimeSpan.FromSeconds(30);

    private readonly List<SampleProcess> _instances = [];
    private RedisServer? _redis;

    public string FleetName { get; } = "processes-" + Guid.NewGuid().ToString("N")[..8];

    public RedisServer Redis => _redis ?? throw new InvalidOperationException("the fleet has not started");

    internal IReadOnlyList<SampleProcess> Instances => _instances;

    public static string InstanceId(int index) => $"sample-{index}";

    public static byte[] Bundled(string fileName) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Models", fileName));

    public static byte[] Iris() => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestModels", "iris.zip"));

    public async Task InitializeAsync()
    {
        try
        {
            _redis = await RedisServer.StartAsync();
            for (int i = 0; i < 3; i++)
            {
                _instances.Add(SampleProcess.Start(new Dictionary<string, string>
                {
                    ["Admin__AdminKey"] = AdminKey,
                    ["ModelCache__Fleet__Configuration"] = _redis.Configuration,
                    ["ModelCache__Fleet__FleetName"] = FleetName,
                    ["ModelCache__Fleet__InstanceId"] = InstanceId(i),
                }));
            }

            await Task.WhenAll(_instances.Select(static p => p.WaitUntilReadyAsync()));
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        foreach (SampleProcess instance in _instances)
        {
            await instance.DisposeAsync();
        }

        _instances.Clear();
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
            _redis = null;
        }
    }

    /// <summary>Sends a request with the admin key (the fleet endpoints and the model status need it in Production).</summary>
    internal static async Task<HttpResponseMessage> SendAsync(SampleProcess instance, HttpMethod method, string path, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Add("X-Api-Key", AdminKey);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return await instance.Client.SendAsync(request);
    }

    internal static async Task<JsonElement> GetJsonAsync(SampleProcess instance, string path)
    {
        using HttpResponseMessage response = await SendAsync(instance, HttpMethod.Get, path);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path} on port {instance.Port} answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary><c>GET /fleet</c> on <paramref name="instance"/>: the fleet's status, the first (only) model's entry.</summary>
    internal static async Task<JsonElement> FleetModelAsync(SampleProcess instance) =>
        (await GetJsonAsync(instance, "/fleet")).GetProperty("models").EnumerateArray().Single(m => m.GetProperty("name").GetString() == ModelName);

    /// <summary><c>GET /models/taxi-fare</c> on <paramref name="instance"/>: this instance's own view of its model.</summary>
    internal static Task<JsonElement> ModelStatusAsync(SampleProcess instance) => GetJsonAsync(instance, "/models/" + ModelName);

    /// <summary>Publishes <paramref name="content"/> as <paramref name="versionId"/> through instance 0's <c>POST /fleet/models/taxi-fare/publish</c>.</summary>
    internal async Task<JsonElement> PublishAsync(byte[] content, string versionId, double? canaryShare = null)
    {
        string query = $"?versionId={versionId}" + (canaryShare is { } share ? $"&canary={share.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : "");
        using var body = new ByteArrayContent(content);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using HttpResponseMessage response = await SendAsync(_instances[0], HttpMethod.Post, $"/fleet/models/{ModelName}/publish{query}", body);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"publish answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The bundled model (v1 or v2) that the fleet does not serve now, so a publish of it makes every instance load.</summary>
    internal async Task<(byte[] Content, string Sha256)> NotServedModelAsync()
    {
        JsonElement status = await ModelStatusAsync(_instances[0]);
        string served = status.GetProperty("version").GetProperty("id").GetString()!;
        return served == SampleServer.V2Sha256
            ? (Bundled("taxi-fare.zip"), SampleServer.V1Sha256)
            : (Bundled("taxi-fare-v2.zip"), SampleServer.V2Sha256);
    }

    /// <summary>Polls <paramref name="condition"/> until it holds, with a bound; the failure names what the instances say.</summary>
    internal async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        using var bound = new CancellationTokenSource(SignalBound);
        while (!await condition())
        {
            if (bound.IsCancellationRequested)
            {
                Assert.Fail($"Timed out after {SignalBound} waiting for: {what}.\nGET /fleet: {await DescribeAsync()}");
            }

            await Task.Delay(20, CancellationToken.None);
        }
    }

    /// <summary>Waits (bounded) until each instance's own status serves <paramref name="versionId"/> and every <c>GET /fleet</c> says all three do.</summary>
    internal Task UntilAllServeAsync(string versionId) => UntilAsync(
        async () =>
        {
            foreach (SampleProcess instance in _instances)
            {
                JsonElement status = await ModelStatusAsync(instance);
                if (status.GetProperty("version").GetProperty("eTag").GetString() != versionId)
                {
                    return false;
                }

                JsonElement serving = (await FleetModelAsync(instance)).GetProperty("serving");
                if (serving.GetArrayLength() != 1 || serving[0].GetProperty("versionId").GetString() != versionId || serving[0].GetProperty("instances").GetInt32() != 3)
                {
                    return false;
                }
            }

            return true;
        },
        $"all three instances serve {versionId}");

    internal async Task<string> DescribeAsync()
    {
        try
        {
            using HttpResponseMessage response = await SendAsync(_instances[0], HttpMethod.Get, "/fleet");
            return $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            return ex.Message;
        }
    }
}
