using System.Net;
using Microsoft.AspNetCore.Hosting;
using System.Text.Json;
using ModelCaching.Samples.WebApi.Tests.Support;

namespace ModelCaching.Samples.WebApi.Tests;

public sealed class PredictEndpointTests
{
    [Fact]
    public async Task Predict_WithACompleteTrip_ReturnsTheFareOfTheServingModelAndItsVersion()
    {
        await using SampleServer server = await SampleServer.StartAsync();
        await server.WhenServingAsync(SampleServer.V1Sha256);

        JsonElement answer = await TaxiTrips.PredictAsync(server.Client);

        Assert.Equal(TaxiTrips.KnownTripFareV1, answer.GetProperty("fareAmount").GetSingle(), TaxiTrips.Tolerance);
        Assert.Equal("taxi-fare", answer.GetProperty("model").GetString());
        Assert.Equal(SampleServer.V1Sha256, answer.GetProperty("modelVersion").GetString());
        Assert.Equal(1, answer.GetProperty("modelGeneration").GetInt64());
    }

    [Fact]
    public async Task Predict_WithABodyOverKestrelsLimit_Returns413ProblemDetails()
    {
        await using SampleServer server = await SampleServer.StartAsync(static builder => builder.WebHost.ConfigureKestrel(static kestrel => kestrel.Limits.MaxRequestBodySize = 1024));
        string padding = new(' ', 4096);

        using HttpResponseMessage response = await server.Client.PostAsync(
            "/predict",
            TaxiTrips.Json("{" + padding + "\"vendorId\":\"VTS\",\"rateCode\":\"1\",\"passengerCount\":1,\"tripTime\":1140,\"tripDistance\":3.75,\"paymentType\":\"CRD\"}"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        JsonElement problem = await TaxiTrips.ReadJsonAsync(response);
        Assert.Equal("The request body is too large.", problem.GetProperty("title").GetString());
        Assert.Equal(413, problem.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Predict_WithMalformedJson_Returns400SayingWhereTheJsonBreaks()
    {
        await using SampleServer server = await SampleServer.StartAsync();

        using HttpResponseMessage response = await server.Client.PostAsync("/predict", TaxiTrips.Json("""{"vendorId":"VTS","rateCode":"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        JsonElement problem = await TaxiTrips.ReadJsonAsync(response);
        Assert.Equal("The request body is not valid JSON for a taxi trip.", problem.GetProperty("title").GetString());
        Assert.Contains("BytePositionInLine: 29", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Predict_WithAWrongValueType_Returns400NamingTheField()
    {
        await using SampleServer server = await SampleServer.StartAsync();

        using HttpResponseMessage response = await server.Client.PostAsync(
            "/predict",
            TaxiTrips.Json("""{"vendorId":"VTS","rateCode":"1","passengerCount":"two","tripTime":1140,"tripDistance":3.75,"paymentType":"CRD"}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        JsonElement problem = await TaxiTrips.ReadJsonAsync(response);
        Assert.Contains("$.passengerCount", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Predict_WithMissingFields_Returns400ListingEachMissingField()
    {
        await using SampleServer server = await SampleServer.StartAsync();

        using HttpResponseMessage response = await server.Client.PostAsync("/predict", TaxiTrips.Json("""{"vendorId":"VTS","tripTime":1140,"tripDistance":3.75}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        JsonElement errors = (await TaxiTrips.ReadJsonAsync(response)).GetProperty("errors");
        string[] fields = [.. errors.EnumerateObject().Select(static p => p.Name).Order(StringComparer.Ordinal)];
        Assert.Equal(["passengerCount", "paymentType", "rateCode"], fields);
        Assert.Equal("The field 'rateCode' is required (a non-empty string).", errors.GetProperty("rateCode")[0].GetString());
        Assert.Equal("The field 'passengerCount' is required (a number).", errors.GetProperty("passengerCount")[0].GetString());
    }

    [Fact]
    public async Task Predict_WithANegativeDistance_Returns400NamingTheField()
    {
        await using SampleServer server = await SampleServer.StartAsync();

        using HttpResponseMessage response = await server.Client.PostAsync(
            "/predict",
            TaxiTrips.Json("""{"vendorId":"VTS","rateCode":"1","passengerCount":1,"tripTime":1140,"tripDistance":-3,"paymentType":"CRD"}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        JsonElement errors = (await TaxiTrips.ReadJsonAsync(response)).GetProperty("errors");
        Assert.Equal("The field 'tripDistance' must be a finite number of 0 or more (was -3).", Assert.Single(errors.EnumerateObject()).Value[0].GetString());
    }

    [Fact]
    public async Task Predict_WithAnEmptyJsonBody_Returns400()
    {
        await using SampleServer server = await SampleServer.StartAsync();

        using HttpResponseMessage response = await server.Client.PostAsync("/predict", TaxiTrips.Json("null"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("The request body is empty.", (await TaxiTrips.ReadJsonAsync(response)).GetProperty("title").GetString());
    }

    [Fact]
    public async Task Predict_WithoutAJsonContentType_Returns415()
    {
        await using SampleServer server = await SampleServer.StartAsync();

        using HttpResponseMessage response = await server.Client.PostAsync("/predict", new StringContent(TaxiTrips.KnownTrip, System.Text.Encoding.UTF8, "text/plain"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Contains("text/plain", (await TaxiTrips.ReadJsonAsync(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Predict_WhenNoModelIsServing_Returns503NamingTheModelAndTheCause()
    {
        await using SampleServer server = await SampleServer.StartAsync(seed: false);

        using HttpResponseMessage response = await server.Client.PostAsync("/predict", TaxiTrips.Json(TaxiTrips.KnownTrip));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        JsonElement problem = await TaxiTrips.ReadJsonAsync(response);
        Assert.Equal("Model 'taxi-fare' is not available.", problem.GetProperty("title").GetString());
        Assert.Contains("taxi-fare", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
