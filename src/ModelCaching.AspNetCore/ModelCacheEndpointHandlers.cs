using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging;
using ModelCaching.AspNetCore.Diagnostics;

namespace ModelCaching.AspNetCore;

/// <summary>The request handlers behind <c>MapModelCacheEndpoints</c>.</summary>
internal sealed class ModelCacheEndpointHandlers(IModelCacheProvider provider, ILogger logger, int historyLength)
{
    /// <summary>The most names a 404 lists: with thousands of template models, the list is a sample, not an inventory.</summary>
    internal const int MaxKnownModelsShown = 100;

    /// <summary>
    /// <c>GET {pattern}?offset=&amp;limit=&amp;state=</c>: one page of statuses (the body stays a JSON array), the number of
    /// models that match in <c>X-Total-Count</c>, and RFC 8288 <c>Link</c> relations to the next and previous pages.
    /// </summary>
    public Results<JsonHttpResult<IReadOnlyList<ModelStatus>>, ValidationProblem> GetAll(HttpContext context, string? offset, string? limit, string? state)
    {
        if (!ModelStatusQuery.TryParse(offset, limit, state, out ModelStatusQuery query, out Dictionary<string, string[]> errors))
        {
            return TypedResults.ValidationProblem(errors, title: "The model status query has invalid parameters.");
        }

        IReadOnlyList<string> names = provider.Names;
        var statuses = new List<ModelStatus>(Math.Min(query.Limit, names.Count));
        long end = (long)query.Offset + query.Limit;
        int total = 0;
        foreach (string name in names)
        {
            if (!query.IsFiltered && (total < query.Offset || total >= end))
            {
                // Without a filter the page is a slice of the names: models outside it are not looked at.
                total++;
                continue;
            }

            if (TryGetExisting(name) is not { } cache || !query.Matches(cache))
            {
                continue;
            }

            if (total >= query.Offset && total < end)
            {
                statuses.Add(ModelStatus.From(cache, historyLength));
            }

            total++;
        }

        WritePagingHeaders(context, query, total);
        return TypedResults.Json<IReadOnlyList<ModelStatus>>(statuses, ModelCacheStatusJsonContext.Default.IReadOnlyListModelStatus);
    }

    /// <summary><c>GET {pattern}/budgets</c>: every memory budget with what counts against it now.</summary>
    public JsonHttpResult<IReadOnlyList<ModelMemoryBudgetStatus>> GetBudgets() =>
        TypedResults.Json(provider.GetMemoryBudgets(), ModelCacheStatusJsonContext.Default.IReadOnlyListModelMemoryBudgetStatus);

    public Results<JsonHttpResult<ModelStatus>, ProblemHttpResult> GetOne(string name)
    {
        if (!TryGetCache(name, out IModelCache? cache, out ProblemHttpResult? notFound))
        {
            return notFound;
        }

        return Status(cache);
    }

    /// <summary>
    /// <c>POST {pattern}/{name}/reload[?force=true]</c>: reloads the model, naming the user in its history. The version a
    /// rollback went back from is not loaded again without <c>force=true</c>: 409 problem details say so.
    /// </summary>
    public async Task<Results<JsonHttpResult<ModelStatus>, ProblemHttpResult>> ReloadAsync(string name, bool? force, HttpRequest request, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (!TryGetCache(name, out IModelCache? cache, out ProblemHttpResult? notFound))
        {
            return notFound;
        }

        try
        {
            ModelVersion version = await cache.ReloadAsync(force ?? false, UserName(user), cancellationToken).ConfigureAwait(false);
            Log.ReloadRequested(logger, cache.Name, UserName(user), version.Id, version.Generation);
            return Status(cache);
        }
        catch (ModelReloadRefusedException ex)
        {
            Log.ReloadFailed(logger, cache.Name, UserName(user), ex.Message);
            Dictionary<string, object?> extensions = ServingExtensions(cache, "the source has the version a rollback went back from");
            extensions["rolledBackVersion"] = ex.RolledBackVersionId;
            extensions["forceWith"] = $"POST {request.PathBase}{request.Path}?force=true";
            return TypedResults.Problem(
                detail: $"Version {ex.RolledBackVersionId} was rolled back from, and the source still has it: reloading would undo the rollback. Version {ex.ServingVersionId} keeps serving. To load {ex.RolledBackVersionId} anyway, reload with force=true.",
                statusCode: StatusCodes.Status409Conflict,
                title: $"Model '{cache.Name}' was not reloaded: it was rolled back from the source's version.",
                extensions: extensions);
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
            ModelVersion version = await cache.RollbackAsync(UserName(user), cancellationToken).ConfigureAwait(false);
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
        // Only models the provider has: a name a template would serve is not made (nor loaded) by a status read or
        // an admin request.
        if (provider.TryGetCache(name, out cache))
        {
            notFound = null;
            return true;
        }

        IReadOnlyList<string> names = provider.Names;
        string shown = ModelStatusQuery.Shorten(name);
        string[] known = names.Count <= MaxKnownModelsShown ? [.. names] : [.. names.Take(MaxKnownModelsShown)];
        notFound = TypedResults.Problem(
            detail: $"No model named '{shown}' is registered, and none of that name has been made from a template. The status endpoints never make a model: its first use does.",
            statusCode: StatusCodes.Status404NotFound,
            title: $"There is no model named '{shown}'.",
            extensions: new Dictionary<string, object?> { ["knownModels"] = known, ["modelCount"] = names.Count });
        return false;
    }

    // The cache of a name the provider listed, unless it left the provider since (a template model whose first load
    // failed): TryGetCache never makes a template model, so a status read cannot bring a dropped name back.
    private IModelCache? TryGetExisting(string name) => provider.TryGetCache(name, out IModelCache? cache) ? cache : null;

    private static void WritePagingHeaders(HttpContext context, ModelStatusQuery query, int total)
    {
        IHeaderDictionary headers = context.Response.Headers;
        headers["X-Total-Count"] = total.ToString(CultureInfo.InvariantCulture);
        string? next = (long)query.Offset + query.Limit < total ? PageLink(context.Request, query, query.Offset + query.Limit, "next") : null;
        string? previous = query.Offset > 0 ? PageLink(context.Request, query, Math.Max(0, Math.Min(query.Offset, total) - query.Limit), "prev") : null;
        if (next is not null || previous is not null)
        {
            headers.Link = next is not null && previous is not null ? $"{next}, {previous}" : next ?? previous;
        }
    }

    // A path-absolute reference (RFC 8288 resolves it against the request), so it stays right behind a proxy that
    // rewrites the host; the path base keeps it right under UsePathBase.
    private static string PageLink(HttpRequest request, ModelStatusQuery query, long offset, string relation)
    {
        var parameters = new List<KeyValuePair<string, string?>>(3)
        {
            new("offset", offset.ToString(CultureInfo.InvariantCulture)),
            new("limit", query.Limit.ToString(CultureInfo.InvariantCulture)),
        };
        if (query.State is not null)
        {
            parameters.Add(new("state", query.State));
        }

        return $"<{request.PathBase}{request.Path}{QueryString.Create(parameters)}>; rel=\"{relation}\"";
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
