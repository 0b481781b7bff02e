using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.AspNetCore.Tests.Support;
using ModelCaching.ML;

namespace ModelCaching.AspNetCore.Tests.Pooling;

/// <summary>
/// A <c>PredictionPool&lt;TIn, TOut&gt;</c> parameter without <c>[FromKeyedServices]</c> in a minimal-API handler, as
/// Microsoft.Extensions.ML users inject <c>PredictionEnginePool</c>: it must be a service (or start-up fails with
/// "Failure to infer one or more parameters"), the only pool when there is one, and a clear error when there are several.
/// </summary>
public sealed class UnkeyedPredictionPoolTests
{
    [Fact]
    public async Task MinimalApi_OnePooledModel_InjectsItsPoolWithoutTheKey()
    {
        await using TestServer server = await TestServer.StartAsync(
            services => services.AddModelCache()
                .AddModel<ITransformer>("taxi-fare", m => m.FromFile(TaxiFareModel.FilePath).UseMLNet().WithPredictionPool<TaxiTrip, TaxiFarePrediction>()),
            app => app.MapGet("/fare", (PredictionPool<TaxiTrip, TaxiFarePrediction> pool) => $"{pool.Cache.Name}:{pool.Predict(TaxiTrip.Sample).FareAmount.ToString("F2", CultureInfo.InvariantCulture)}"));

        string body = await server.Client.GetStringAsync("/fare");

        Assert.Equal($"taxi-fare:{TaxiFareModel.SampleFare.ToString("F2", CultureInfo.InvariantCulture)}", body);
        Assert.Same(
            server.Services.GetRequiredKeyedService<PredictionPool<TaxiTrip, TaxiFarePrediction>>("taxi-fare"),
            server.Services.GetRequiredService<PredictionPool<TaxiTrip, TaxiFarePrediction>>());
    }

    [Fact]
    public async Task MinimalApi_TwoPooledModels_StartsAndTheUnkeyedPoolThrowsNamingThemAndTheAttribute()
    {
        await using TestServer server = await TestServer.StartAsync(
            services => services.AddModelCache()
                .AddModel<ITransformer>("taxi-fare", m => m.FromFile(TaxiFareModel.FilePath).UseMLNet().WithPredictionPool<TaxiTrip, TaxiFarePrediction>())
                .AddModel<ITransformer>("taxi-fare-b", m => m.FromFile(TaxiFareModel.FilePath).UseMLNet().WithPredictionPool<TaxiTrip, TaxiFarePrediction>()),
            app =>
            {
                app.UseExceptionHandler(errors => errors.Run(context =>
                {
                    Exception? error = context.Features.Get<Microsoft.AspNetCore.Diagnostics.IExceptionHandlerFeature>()?.Error;
                    context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                    return context.Response.WriteAsync($"{error?.GetType().Name}: {error?.Message}");
                }));
                app.MapGet("/fare", (PredictionPool<TaxiTrip, TaxiFarePrediction> pool) => pool.Cache.Name);
            });

        using HttpResponseMessage response = await server.Client.GetAsync("/fare");
        string body = await response.Content.ReadAsStringAsync();

        Assert.Equal(System.Net.HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.StartsWith(nameof(InvalidOperationException), body);
        Assert.Contains("'taxi-fare'", body);
        Assert.Contains("'taxi-fare-b'", body);
        Assert.Contains("[FromKeyedServices(\"taxi-fare\")]", body);
        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => server.Services.GetRequiredService<PredictionPool<TaxiTrip, TaxiFarePrediction>>());
        Assert.Contains("2 models", error.Message);
    }

    [Fact]
    public async Task UnkeyedPool_OnlyATemplateHasPools_ThrowsNamingTheTemplate()
    {
        await using ServiceProvider services = new ServiceCollection()
            .AddModelCache()
            .AddModelTemplate<ITransformer>("tenants", t => t.FromFile(Path.Combine(TaxiFareModel.Directory, "{name}.zip")).UseMLNet().WithPredictionPool<TaxiTrip, TaxiFarePrediction>())
            .Services.BuildServiceProvider();

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => services.GetRequiredService<PredictionPool<TaxiTrip, TaxiFarePrediction>>());

        Assert.Contains("'tenants'", error.Message);
        Assert.Contains("[FromKeyedServices(", error.Message);
        Assert.Same(
            services.GetRequiredService<PredictionPoolProvider<TaxiTrip, TaxiFarePrediction>>().GetPool("taxi-fare"),
            services.GetRequiredKeyedService<PredictionPool<TaxiTrip, TaxiFarePrediction>>("taxi-fare"));
    }
}
