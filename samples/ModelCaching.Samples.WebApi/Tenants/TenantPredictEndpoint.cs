using Microsoft.AspNetCore.Http.HttpResults;
using ModelCaching.Samples.WebApi.Prediction;

namespace ModelCaching.Samples.WebApi.Tenants;

/// <summary>
/// <c>POST /tenants/{id}/predict</c>: a taxi trip in, the fare predicted by the tenant's own model out. Each tenant's
/// model is made from the <c>tenants</c> template on first use (<c>Models/tenants/tenant-{id}.zip</c>) and kept in
/// memory under the template's budget (<c>ModelCache:Templates:tenants:MemoryBudgetBytes</c>).
/// </summary>
public static class TenantPredictEndpoint
{
    /// <summary>Maps <c>POST /tenants/{id}/predict</c>.</summary>
    public static RouteHandlerBuilder MapTenantPredict(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapPost("/tenants/{id}/predict", PredictAsync)
            .WithName("PredictForTenant")
            .WithSummary("Predicts the fare of a taxi trip with the tenant's own model, loaded on first use under a memory budget.");

    internal static async Task<Results<Ok<FareResponse>, ProblemHttpResult, ValidationProblem>> PredictAsync(
        string id,
        HttpRequest request,
        TenantPredictor predictor,
        CancellationToken cancellationToken)
    {
        // The id becomes part of a model name and a file path: it is checked before it reaches either.
        if (!TenantIds.IsValid(id))
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status400BadRequest,
                title: "The tenant id is not valid.",
                detail: $"{TenantIds.Rule} '{TenantIds.Shorten(id)}' ({id.Length:N0} characters) does not.",
                extensions: new Dictionary<string, object?> { ["rule"] = TenantIds.Rule });
        }

        TripReader.Result read = await TripReader.ReadAsync(request, cancellationToken);
        if (read.Problem is { } problem)
        {
            return problem;
        }

        if (read.Invalid is { } invalid)
        {
            return invalid;
        }

        // No model file for the tenant (TemplateModelNotFoundException: 404, and the provider has already let go of the
        // name, so unknown ids cannot fill memory or the status list) and a model that cannot serve now (a corrupt file,
        // a load timeout, a full load queue: ModelLoadException, 503) are answered by AddModelCacheProblemDetails().
        string modelName = TenantIds.ToModelName(id);
        (TaxiFarePrediction prediction, ModelVersion? version) = await predictor.PredictAsync(modelName, read.Trip!, cancellationToken);
        return TypedResults.Ok(new FareResponse(prediction.FareAmount, modelName, version?.Id, version?.Generation));
    }
}
