using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging;
using ModelCaching.AspNetCore.Diagnostics;

namespace ModelCaching.AspNetCore;

/// <summary>The request handlers behind <c>MapModelCacheEndpoints</c>.</summary>
internal sealed class ModelCacheEndpointHandlers(IModelCacheProvider provider, ILogger logger, int historyLength)
{
    public JsonHttpResult<IReadOnlyList<ModelStatus>> GetAll()
    {
        IReadOnlyList<string> names = provider.Names;
        var statuses = new List<ModelStatus>(names.Count);
        foreach (string name in names)
        {
            statuses.Add(ModelStatus.From(provider.GetCache(name), historyLength));
        }

        return TypedResults.Json<IReadOnlyList<ModelStatus>>(statuses, ModelCacheStatusJsonContext.Default.IReadOnlyListModelStatus);
    }

    public Results<JsonHttpResult<ModelStatus>, ProblemHttpResult> GetOne(string name)
    {
        if (!TryGetCache(name, out IModelCache? cache, out ProblemHttpResult? notFound))
        {
            return notFound;
        }

        return Status(cache);
    }

    public async Task<Results<JsonHttpResult<ModelStatus>, ProblemHttpResult>> ReloadAsync(string name, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (!TryGetCache(name, out IModelCache? cache, out ProblemHttpResult? notFound))
        {
            return notFound;
        }

        try
        {
            ModelVersion version = await cache.ReloadAsync(cancellationToken).ConfigureAwait(false);
            Log.ReloadRequested(logger, cache.Name, UserName(user), version.Id, version.Generation);
            return Status(cache);
        }
        catch (ModelLoadException ex)
        {
            Log.ReloadFailed(logger, cache.Name, UserName(user), ex.Message);
            return LoadFailed(cache, "reload", ex);
        }
    }

    public async Task<Results<JsonHttpResult<ModelStatus>, ProblemHttpResult>> RollbackAsync(string name, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (!TryGetCache(name, out IModelCache? cache, out ProblemHttpResult? notFound))
        {
            return notFound;
        }

        try
        {
            ModelVersion version = await cache.RollbackAsync(cancellationToken).ConfigureAwait(false);
            Log.RollbackRequested(logger, cache.Name, UserName(user), version.Id, version.Generation);
            return Status(cache);
        }
        catch (ModelLoadException ex)
        {
            Log.RollbackFailed(logger, cache.Name, UserName(user), ex.Message);
            return LoadFailed(cache, "rollback", ex);
        }
        catch (InvalidOperationException ex)
        {
            // No previous version to go back to: the request conflicts with the cache's state.
            Log.RollbackFailed(logger, cache.Name, UserName(user), ex.Message);
            return TypedResults.Problem(
                detail: ex.Message,
                statusCode: StatusCodes.Status409Conflict,
                title: $"Model '{cache.Name}' cannot be rolled back.",
                extensions: ServingExtensions(cache));
        }
    }

    private JsonHttpResult<ModelStatus> Status(IModelCache cache) =>
        TypedResults.Json(ModelStatus.From(cache, historyLength), ModelCacheStatusJsonContext.Default.ModelStatus);

    private bool TryGetCache(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IModelCache? cache, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out ProblemHttpResult? notFound)
    {
        try
        {
            cache = provider.GetCache(name);
            notFound = null;
            return true;
        }
        catch (KeyNotFoundException ex)
        {
            cache = null;
            notFound = TypedResults.Problem(
                detail: ex.Message,
                statusCode: StatusCodes.Status404NotFound,
                title: $"There is no model named '{name}'.",
                extensions: new Dictionary<string, object?> { ["knownModels"] = provider.Names.ToArray() });
            return false;
        }
    }

    private static ProblemHttpResult LoadFailed(IModelCache cache, string action, ModelLoadException exception)
    {
        ModelVersion? serving = cache.Version;
        string detail = serving is null
            ? $"{exception.Message} No version of the model is serving."
            : $"{exception.Message} Version {serving.Id} (generation {serving.Generation}) keeps serving.";

        // 502: the model source handed us content that could not become a model; this server is fine.
        return TypedResults.Problem(
            detail: detail,
            statusCode: StatusCodes.Status502BadGateway,
            title: $"The {action} of model '{cache.Name}' failed.",
            extensions: ServingExtensions(cache, exception.Cause));
    }

    private static Dictionary<string, object?> ServingExtensions(IModelCache cache, string? cause = null)
    {
        var extensions = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["model"] = cache.Name,
            ["state"] = cache.State.ToString(),
            ["servingVersion"] = cache.Version?.Id,
            ["servingGeneration"] = cache.Version?.Generation,
        };
        if (cause is not null)
        {
            extensions["cause"] = cause;
        }

        return extensions;
    }

    private static string UserName(ClaimsPrincipal user) => user.Identity?.Name is { Length: > 0 } name ? name : "an unnamed caller";
}
