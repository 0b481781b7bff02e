using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.BearerToken;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.ML;
using Microsoft.ML.Data;
using ModelCaching.AspNetCore;
using ModelCaching.ML;
using ModelCaching.Samples.WebApi.Tests.Support;

namespace ModelCaching.Samples.WebApi.Tests;

/// <summary>
/// docs/getting-started.md's "add ModelCaching to your own app" program runs as written: <see cref="BuildApp"/> holds
/// the same lines (only <c>app.Run()</c> is replaced by a start and a stop), and the test calls it as a user would.
/// </summary>
public sealed class GettingStartedAppTests
{
    [Fact]
    public void GettingStarted_ShowsTheSameCodeAsThisTest()
    {
        string doc = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "docs", "getting-started.md"));
        string self = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "GettingStartedAppTests.cs.txt"));
        int anchor = doc.IndexOf("`Program.cs`, complete", StringComparison.Ordinal);
        int start = doc.IndexOf("```csharp", anchor, StringComparison.Ordinal);
        int end = doc.IndexOf("```", start + 9, StringComparison.Ordinal);
        Assert.True(anchor >= 0 && start > anchor && end > start, "getting-started.md has the complete Program.cs block");

        string[] lines = [.. doc[(start + 9)..end].Split('\n').Select(static l => l.Trim()).Where(static l => l.Length > 0 && l != "app.Run();")];
        Assert.True(lines.Length >= 30);
        foreach (string line in lines)
        {
            Assert.True(self.Contains(line, StringComparison.Ordinal), $"getting-started.md line not in the compiled program: {line}");
        }
    }

    [Fact]
    public async Task GettingStartedApp_PredictsWithProperties_AndAnswers401NotA500ToAdminCallsWithoutAToken()
    {
        // The user's own app folder (its content root, where "models/taxi-fare.zip" resolves): not this test's output
        // folder, whose appsettings.json is the sample's (with a template this program does not register).
        string root = Path.Combine(Path.GetTempPath(), "modelcaching-getting-started-" + Guid.NewGuid().ToString("N"));
        string models = Path.Combine(root, "models");
        Directory.CreateDirectory(models);
        File.Copy(SampleServer.BundledModel("taxi-fare.zip"), Path.Combine(models, "taxi-fare.zip"), overwrite: true);
        await using WebApplication app = BuildApp(["--urls=http://127.0.0.1:0", "--environment=Production", $"--contentRoot={root}"]);
        await app.StartAsync();
        await app.Services.GetRequiredService<IModelCacheProvider>().GetCache<ITransformer>("taxi-fare").GetModelAsync().AsTask().WaitAsync(SampleServer.SignalTimeout);
        string address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        using var client = new HttpClient { BaseAddress = new Uri(address) };

        JsonElement prediction = await TaxiTrips.PredictAsync(client);
        using HttpResponseMessage models401 = await client.GetAsync("/models");
        using HttpResponseMessage reload401 = await client.PostAsync("/models/taxi-fare/reload", content: null);
        using HttpResponseMessage ready = await client.GetAsync("/health/ready");

        Assert.Equal(TaxiTrips.KnownTripFareV1, prediction.GetProperty("fareAmount").GetSingle(), TaxiTrips.Tolerance);
        Assert.Equal(HttpStatusCode.Unauthorized, models401.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, reload401.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        await app.StopAsync();
    }

    private static WebApplication BuildApp(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Logging.ClearProviders();
        builder.Services.AddModelCache(builder.Configuration.GetSection("ModelCache"))
            .AddModel<ITransformer>("taxi-fare", model => model
                .FromFile("models/taxi-fare.zip", watchForChanges: true)     // reload when the file is replaced
                .UseMLNet()                                                  // MLContext.Model.Load
                .WithPredictionPool<TaxiTrip, TaxiFarePrediction>()          // pooled engines + schema check before a swap
                .Eager());                                                   // load at start; readiness waits for it
        builder.Services.AddHealthChecks().AddModelCache(tags: [ModelCacheHealthChecks.ReadyTag]);

        // The admin endpoints need an authentication scheme to challenge with: without one every call to them answers
        // 500 ("No authenticationScheme was specified"). Use yours (JwtBearer, cookies, the sample's API key handler).
        builder.Services.AddAuthentication(BearerTokenDefaults.AuthenticationScheme).AddBearerToken();
        builder.Services.AddAuthorizationBuilder().AddPolicy("ModelAdmin", p => p.RequireRole("ml-admin"));

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapPost("/predict", ([FromKeyedServices("taxi-fare")] PredictionPool<TaxiTrip, TaxiFarePrediction> pool, TaxiTrip trip)
            => pool.Predict(trip));
        app.MapModelCacheEndpoints("ModelAdmin");   // GET /models, POST /models/{name}/reload|rollback
        app.MapModelCacheHealthChecks();            // /health/ready, /health/live
        return app;
    }

    // The model's input and output: properties named after its columns. Properties, not fields: System.Text.Json
    // binds the request to TaxiTrip and writes TaxiFarePrediction, and it ignores fields (the answer would be {}).
    public sealed class TaxiTrip
    {
        public string VendorId { get; set; } = "";
        public string RateCode { get; set; } = "";
        public float PassengerCount { get; set; }
        public float TripTime { get; set; }
        public float TripDistance { get; set; }
        public string PaymentType { get; set; } = "";
        public float FareAmount { get; set; }   // the label column the model was trained on
    }

    public sealed class TaxiFarePrediction
    {
        [ColumnName("Score")]
        public float FareAmount { get; set; }
    }
}
