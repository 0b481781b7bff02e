using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.AspNetCore.Tests.Support;
using ModelCaching.ML;

namespace ModelCaching.AspNetCore.Tests.ProblemDetails;

/// <summary>
/// A caller's model name through <see cref="PredictionPoolProvider{TData, TPrediction}"/> in a minimal API on a real
/// server: with <c>AddModelCacheProblemDetails()</c>, an unknown name, a template's name with no model, an invalid name
/// and a model that cannot serve are 404, 404, 400 and 503 problems naming the model and the cause, not 500s.
/// </summary>
public sealed class ModelCacheProblemDetailsTests : IAsyncLifetime
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "modelcaching-problems-" + Guid.NewGuid().ToString("N"));
    private TestServer _server = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        File.Copy(TaxiFareModel.FilePath, Path.Combine(_folder, "tenant-a.zip"));
        _server = await StartAsync(_folder, withProblemDetails: true);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task TemplateModel_ThatExists_Predicts()
    {
        using HttpResponseMessage response = await _server.Client.GetAsync("/fare/tenant-a");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TaxiFareModel.SampleFare.ToString("F2", CultureInfo.InvariantCulture), await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TemplateName_WithNoModelAtTheSource_Is404NamingTheModelAndTemplate()
    {
        using HttpResponseMessage response = await _server.Client.GetAsync("/fare/tenant-zzz");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        string body = await response.Content.ReadAsStringAsync();
        using JsonDocument problem = JsonDocument.Parse(body);
        Assert.Equal(404, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal("There is no model named 'tenant-zzz'.", problem.RootElement.GetProperty("title").GetString());
        Assert.Equal("tenant-zzz", problem.RootElement.GetProperty("model").GetString());
        Assert.Equal("tenants", problem.RootElement.GetProperty("template").GetString());
        Assert.Contains("no model is published", problem.RootElement.GetProperty("detail").GetString());
        Assert.DoesNotContain(_folder, body);
    }

    [Fact]
    public async Task UnknownName_NoTemplateServesIt_Is404ListingTheKnownModels()
    {
        using HttpResponseMessage response = await _server.Client.GetAsync("/fare/taxi");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using JsonDocument problem = await ReadAsync(response);
        Assert.Equal("taxi", problem.RootElement.GetProperty("model").GetString());
        Assert.Contains("No model named 'taxi'", problem.RootElement.GetProperty("detail").GetString());
        Assert.Equal(["broken"], problem.RootElement.GetProperty("knownModels").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task InvalidName_ForTheTemplate_Is400NamingTheRuleBroken()
    {
        using HttpResponseMessage response = await _server.Client.GetAsync("/fare/tenant-a%20b");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using JsonDocument problem = await ReadAsync(response);
        Assert.Equal("tenant-a b", problem.RootElement.GetProperty("model").GetString());
        Assert.Equal("tenants", problem.RootElement.GetProperty("template").GetString());
        Assert.Contains("U+0020", problem.RootElement.GetProperty("cause").GetString());
    }

    [Fact]
    public async Task RegisteredModel_ThatCannotLoad_Is503WithRetryAfterNamingTheCause()
    {
        using HttpResponseMessage response = await _server.Client.GetAsync("/fare/broken");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        using JsonDocument problem = await ReadAsync(response);
        Assert.Equal("Model 'broken' is not available.", problem.RootElement.GetProperty("title").GetString());
        Assert.Equal("broken", problem.RootElement.GetProperty("model").GetString());
        Assert.Contains("not found", problem.RootElement.GetProperty("cause").GetString());
    }

    [Fact]
    public async Task WithoutAddModelCacheProblemDetails_TheSameNamesAre500()
    {
        await using TestServer plain = await StartAsync(_folder, withProblemDetails: false);

        foreach (string name in new[] { "tenant-zzz", "taxi", "tenant-a%20b", "broken" })
        {
            using HttpResponseMessage response = await plain.Client.GetAsync($"/fare/{name}");
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        }
    }

    [Fact]
    public void AddModelCacheProblemDetails_CalledTwice_RegistersOneHandler()
    {
        var services = new ServiceCollection();

        services.AddModelCacheProblemDetails().AddModelCacheProblemDetails();

        Assert.Single(services, d => d.ServiceType == typeof(Microsoft.AspNetCore.Diagnostics.IExceptionHandler));
    }

    private static Task<TestServer> StartAsync(string folder, bool withProblemDetails) => TestServer.StartAsync(
        services =>
        {
            services.AddModelCache()
                .AddModel<ITransformer>("broken", m => m.FromFile(Path.Combine(folder, "missing", "broken.zip")).UseMLNet().WithPredictionPool<TaxiTrip, TaxiFarePrediction>())
                .AddModelTemplate<ITransformer>("tenants", t => t.FromFile(Path.Combine(folder, "{name}.zip")).UseMLNet().WithPredictionPool<TaxiTrip, TaxiFarePrediction>(), o => o.NamePrefix = "tenant-");
            if (withProblemDetails)
            {
                services.AddModelCacheProblemDetails();
            }
            else
            {
                services.AddProblemDetails();
            }
        },
        app =>
        {
            app.UseExceptionHandler();
            app.MapGet("/fare/{name}", (string name, PredictionPoolProvider<TaxiTrip, TaxiFarePrediction> pools) =>
                pools.Predict(name, TaxiTrip.Sample).FareAmount.ToString("F2", CultureInfo.InvariantCulture));
        });

    private static async Task<JsonDocument> ReadAsync(HttpResponseMessage response) =>
        await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync());
}
