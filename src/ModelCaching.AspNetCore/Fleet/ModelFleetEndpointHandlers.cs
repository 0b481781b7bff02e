using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging;
using ModelCaching.AspNetCore.Diagnostics;
using ModelCaching.Fleet;

namespace ModelCaching.AspNetCore.Fleet;

/// <summary>
/// The request handlers behind <c>MapModelFleetEndpoints</c>: the fleet's status, and publish, rollback, pin, unpin,
/// promote and abort of one model, each through <see cref="IModelFleet"/> (the fleet's own package, such as
/// ModelCaching.Redis, implements it). Every change is logged with who asked for it.
/// </summary>
internal sealed class ModelFleetEndpointHandlers(IModelFleet fleet, ILogger logger, long maxPublishBytes)
{
    public async Task<Results<JsonHttpResult<FleetStatus>, ProblemHttpResult>> GetStatusAsync(CancellationToken cancellationToken)
    {
        try
        {
            return TypedResults.Json(await fleet.GetStatusAsync(cancellationToken).ConfigureAwait(false), ModelFleetJsonContext.Default.FleetStatus);
        }
        catch (Exception ex) when (IsControlPlaneFailure(ex, cancellationToken))
        {
            return Unavailable("read the fleet's status", ex);
        }
    }

    /// <summary>
    /// <c>POST {pattern}/models/{name}/publish?versionId=&amp;canary=</c>: the request body is the model's bytes (stored
    /// with the record), or, with <c>Content-Type: application/json</c>, <c>{"location", "sha256", "sizeBytes"}</c> for
    /// bytes that stay where every instance can read them.
    /// </summary>
    public async Task<Results<JsonHttpResult<FleetVersion>, ProblemHttpResult>> PublishAsync(HttpRequest request, string name, string? versionId, string? canary, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var options = new FleetPublishOptions { VersionId = versionId, PublishedBy = UserName(user) };
        if (canary is not null)
        {
            if (!double.TryParse(canary, NumberStyles.Float, CultureInfo.InvariantCulture, out double share) || !(share is > 0 and < 1))
            {
                return Problem(StatusCodes.Status400BadRequest, $"The canary share of model '{name}' is not valid.", $"'canary' must be a number between 0 and 1, exclusive (0.25 sends the version to a quarter of the instances first), not '{canary}'.");
            }

            options.CanaryShare = share;
        }

        try
        {
            FleetVersion version;
            if (request.HasJsonContentType())
            {
                FleetLocationPublish? body = await JsonSerializer.DeserializeAsync(request.Body, ModelFleetJsonContext.Default.FleetLocationPublish, cancellationToken).ConfigureAwait(false);
                if (body is not { Location: { Length: > 0 } location, Sha256: { Length: > 0 } sha256 })
                {
                    return Problem(StatusCodes.Status400BadRequest, $"The publish of model '{name}' has no location.", "A JSON body publishes by location: {\"location\": \"/mnt/models/m.zip\" or \"https://…\", \"sha256\": \"<64 hex digits>\", \"sizeBytes\": 123}. To publish the bytes themselves, send them as the body (application/octet-stream).");
                }

                version = await fleet.PublishLocationAsync(name, location, sha256, body.SizeBytes, options, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                if (await ReadBodyAsync(request, cancellationToken).ConfigureAwait(false) is not { } content)
                {
                    return Problem(StatusCodes.Status413PayloadTooLarge, $"The model '{name}' is too large to publish through this endpoint.", $"The body is larger than {maxPublishBytes} bytes: publish the file by location (a JSON body naming a path or an address the instances can read), or with the command-line tool.");
                }

                if (content.Length == 0)
                {
                    return Problem(StatusCodes.Status400BadRequest, $"The publish of model '{name}' has no content.", "Send the model's bytes as the request body (curl --data-binary @model.zip).");
                }

                version = await fleet.PublishAsync(name, content, options, cancellationToken).ConfigureAwait(false);
            }

            Log.FleetChanged(logger, fleet.FleetName, "publish", name, UserName(user), version.VersionId);
            return TypedResults.Json(version, ModelFleetJsonContext.Default.FleetVersion, statusCode: StatusCodes.Status201Created);
        }
        catch (JsonException ex)
        {
            return Problem(StatusCodes.Status400BadRequest, $"The publish of model '{name}' has a body that is not valid JSON.", ex.Message);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return Refused("publish", name, user, ex);
        }
        catch (Exception ex) when (IsControlPlaneFailure(ex, cancellationToken))
        {
            return Unavailable($"publish model '{name}'", ex);
        }
    }

    public Task<Results<JsonHttpResult<FleetDesiredVersion>, ProblemHttpResult>> RollbackAsync(string name, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        ChangeAsync("rollback", name, user, () => fleet.RollbackAsync(name, cancellationToken), cancellationToken);

    public Task<Results<JsonHttpResult<FleetDesiredVersion>, ProblemHttpResult>> PinAsync(string name, string? versionId, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        ChangeAsync("pin", name, user, () => fleet.PinAsync(name, versionId, cancellationToken), cancellationToken);

    public Task<Results<JsonHttpResult<FleetDesiredVersion>, ProblemHttpResult>> UnpinAsync(string name, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        ChangeAsync("unpin", name, user, () => fleet.UnpinAsync(name, cancellationToken), cancellationToken);

    public Task<Results<JsonHttpResult<FleetDesiredVersion>, ProblemHttpResult>> PromoteAsync(string name, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        ChangeAsync("promote", name, user, () => fleet.PromoteAsync(name, cancellationToken), cancellationToken);

    public Task<Results<JsonHttpResult<FleetDesiredVersion>, ProblemHttpResult>> AbortAsync(string name, string? reason, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        ChangeAsync("abort", name, user, () => fleet.AbortAsync(name, reason ?? $"aborted by {UserName(user)}", cancellationToken), cancellationToken);

    private async Task<Results<JsonHttpResult<FleetDesiredVersion>, ProblemHttpResult>> ChangeAsync(string action, string name, ClaimsPrincipal user, Func<Task<FleetDesiredVersion>> change, CancellationToken cancellationToken)
    {
        try
        {
            FleetDesiredVersion desired = await change().ConfigureAwait(false);
            Log.FleetChanged(logger, fleet.FleetName, action, name, UserName(user), desired.Version.VersionId);
            return TypedResults.Json(desired, ModelFleetJsonContext.Default.FleetDesiredVersion);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return Refused(action, name, user, ex);
        }
        catch (Exception ex) when (IsControlPlaneFailure(ex, cancellationToken))
        {
            return Unavailable($"{action} model '{name}'", ex);
        }
    }

    // Reads the body up to the limit (the limit holds while reading, not after buffering); null when it is larger.
    private async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxPublishBytes)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        byte[] chunk = new byte[81920];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > maxPublishBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    // The change is not possible as asked (nothing published, no older version, a rollout not at the canary stage, a
    // version id taken): the request conflicts with the fleet's state.
    private ProblemHttpResult Refused(string action, string name, ClaimsPrincipal user, Exception ex)
    {
        Log.FleetChangeRefused(logger, fleet.FleetName, action, name, UserName(user), ex.Message);
        int status = ex switch
        {
            ArgumentOutOfRangeException when action == "publish" => StatusCodes.Status413PayloadTooLarge, // larger than the store takes
            ArgumentException => StatusCodes.Status400BadRequest,
            _ => StatusCodes.Status409Conflict,
        };
        return Problem(status, $"The {action} of model '{name}' in fleet '{fleet.FleetName}' was refused.", ex.Message);
    }

    private ProblemHttpResult Unavailable(string what, Exception ex) =>
        Problem(StatusCodes.Status503ServiceUnavailable, $"Could not {what}: the fleet's control plane did not answer.", $"{ex.GetType().Name}: {ex.Message} Instances keep serving what they have.");

    // Any failure of the fleet's store (a Redis connection or timeout error, say): this package does not know its types.
    private static bool IsControlPlaneFailure(Exception ex, CancellationToken cancellationToken) =>
        !(ex is OperationCanceledException && cancellationToken.IsCancellationRequested);

    private ProblemHttpResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title, extensions: new Dictionary<string, object?> { ["fleet"] = fleet.FleetName });

    private static string UserName(ClaimsPrincipal user) => user.Identity?.Name is { Length: > 0 } name ? name : "an unnamed caller";
}
