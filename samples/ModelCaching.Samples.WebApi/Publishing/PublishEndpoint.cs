using Microsoft.AspNetCore.Http.HttpResults;

namespace ModelCaching.Samples.WebApi.Publishing;

/// <summary><c>POST /admin/publish/{variant}</c>: publishes a bundled model version into the watched directory.</summary>
public static class PublishEndpoint
{
    /// <summary>Maps the endpoint behind <paramref name="authorizationPolicy"/>.</summary>
    public static RouteHandlerBuilder MapPublish(this IEndpointRouteBuilder endpoints, string authorizationPolicy) =>
        endpoints.MapPost("/admin/publish/{variant}", Publish)
            .RequireAuthorization(authorizationPolicy)
            .WithName("PublishModel")
            .WithSummary("Writes a bundled model version (v1 or v2) over the served file atomically; the file watcher then reloads it.");

    internal static Results<Accepted<PublishResponse>, ProblemHttpResult> Publish(string variant, ModelPublisher publisher)
    {
        try
        {
            PublishResponse published = publisher.PublishVariant(variant);

            // 202: the file is in place; the cache picks it up asynchronously (watch GET /models).
            return TypedResults.Accepted($"/models/{SampleOptions.ModelName}", published);
        }
        catch (KeyNotFoundException ex)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: $"Unknown model variant '{variant}'.", detail: ex.Message);
        }
    }
}
