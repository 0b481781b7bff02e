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

    internal static async Task<Results<Ok<FareResponse>, ProblemHttpResult, ValidationProblem>> PredictAsync(
        HttpRequest request,
        [FromKeyedServices(SampleOptions.ModelName)] PredictionPool<TaxiTrip, TaxiFarePrediction> pool,
        CancellationToken cancellationToken)
    {
        TripReader.Result read = await TripReader.ReadAsync(request, cancellationToken);
        if (read.Problem is { } problem)
        {
            return problem;
        }

        if (read.Invalid is { } invalid)
        {
            return invalid;
        }

        // No version of the model serving (it never loaded) throws ModelLoadException, answered 503 by
        // AddModelCacheProblemDetails(); a failed reload never gets here because the last good version keeps serving.
        TaxiFarePrediction prediction = pool.Predict(read.Trip!);
        ModelVersion? version = pool.Cache.Version;
        return TypedResults.Ok(new FareResponse(prediction.FareAmount, pool.Cache.Name, version?.Id, version?.Generation));
    }
}
