using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using ModelCaching.ML;

namespace ModelCaching.Samples.WebApi.Prediction;

/// <summary><c>POST /predict</c>: a taxi trip in, the predicted fare out.</summary>
public static class PredictEndpoint
{
    /// <summary>Maps <c>POST /predict</c>.</summary>
    public static RouteHandlerBuilder MapPredict(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapPost("/predict", PredictAsync)
            .WithName("Predict")
            .WithSummary("Predicts the fare of a taxi trip with the serving taxi-fare model.");

    /// <summary>
    /// Reads the body itself rather than letting minimal APIs bind it: the framework's binding failure is an
    /// empty 400, and a client deserves to be told which field is missing or where the JSON breaks.
    /// </summary>
    internal static async Task<Results<Ok<FareResponse>, ProblemHttpResult, ValidationProblem>> PredictAsync(
        HttpRequest request,
        [FromKeyedServices(SampleOptions.ModelName)] PredictionPool<TaxiTrip, TaxiFarePrediction> pool,
        CancellationToken cancellationToken)
    {
        if (!request.HasJsonContentType())
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status415UnsupportedMediaType,
                title: "The request body must be JSON.",
                detail: $"Send Content-Type: application/json (was '{request.ContentType ?? "none"}').");
        }

        FareRequest? fare;
        try
        {
            fare = await JsonSerializer.DeserializeAsync(request.Body, SampleJsonContext.Default.FareRequest, cancellationToken);
        }
        catch (BadHttpRequestException ex)
        {
            // Kestrel refused the body (over Limits:MaxRequestBodySize: 413, or a client that stopped sending):
            // the client's problem, answered with its status code rather than a 500 and an error in the log.
            return TypedResults.Problem(
                statusCode: ex.StatusCode,
                title: ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? "The request body is too large." : "The request body could not be read.",
                detail: ex.Message);
        }
        catch (JsonException ex)
        {
            // The message names the JSON path and the line and byte where reading stopped.
            return TypedResults.Problem(
                statusCode: StatusCodes.Status400BadRequest,
                title: "The request body is not valid JSON for a taxi trip.",
                detail: ex.Message);
        }

        if (fare is null)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status400BadRequest,
                title: "The request body is empty.",
                detail: "Send a JSON object with vendorId, rateCode, passengerCount, tripTime, tripDistance and paymentType.");
        }

        Dictionary<string, string[]> errors = fare.Validate();
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The taxi trip is missing fields or has invalid values.");
        }

        TaxiFarePrediction prediction;
        try
        {
            prediction = pool.Predict(fare.ToTaxiTrip());
        }
        catch (ModelLoadException ex)
        {
            // No version of the model is serving (it never loaded); a failed reload never gets here because
            // the last good version keeps serving.
            return TypedResults.Problem(
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: $"Model '{pool.ModelName}' is not available.",
                detail: ex.Message);
        }

        ModelVersion? version = pool.Cache.Version;
        return TypedResults.Ok(new FareResponse(prediction.FareAmount, pool.ModelName, version?.Id, version?.Generation));
    }
}
