using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using ModelCaching.Routing.Diagnostics;
using ModelCaching.Routing.Membership;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace ModelCaching.Routing.Proxy;

/// <summary>
/// A step of YARP's proxy pipeline (<c>UseModelCacheRouting()</c>) for the routes that send to the router's cluster: names
/// the model from the route value, narrows <see cref="IReverseProxyFeature.AvailableDestinations"/> to one owner at a time
/// (loaded owners first, then placement order, instances that just failed last), and sends the request to the next owner
/// when one fails before answering or answers 421, as long as the response has not started.
/// </summary>
internal sealed class ModelCacheRoutingMiddleware(
    RequestDelegate next,
    RoutingSettings settings,
    RoutingMembership membership,
    RoutingMetrics metrics,
    IDestinationHealthUpdater health,
    TimeProvider time,
    ILogger<ModelCacheRoutingMiddleware> logger)
{
    private const int BodyBufferThreshold = 64 * 1024;

    public async Task InvokeAsync(HttpContext context)
    {
        IReverseProxyFeature proxy = context.GetReverseProxyFeature();
        if (proxy.Route.Cluster is not { } cluster || !string.Equals(cluster.ClusterId, settings.ClusterId, StringComparison.OrdinalIgnoreCase))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        if (ModelName(context) is not { } modelName)
        {
            await InvalidModelNameAsync(context).ConfigureAwait(false);
            return;
        }

        if (!membership.FirstRead.IsCompleted)
        {
            // Requests that come in as the router starts wait (a bounded time) for the first read of the membership.
            await WaitForFirstReadAsync(context.RequestAborted).ConfigureAwait(false);
        }

        RoutingTable table = membership.Table;
        List<DestinationState> candidates = Candidates(table.Owners(modelName), proxy.AllDestinations);
        if (candidates.Count == 0)
        {
            await NoOwnerAsync(context, modelName, table).ConfigureAwait(false);
            return;
        }

        int attempts = Math.Min(candidates.Count, settings.MaxAttempts);
        bool rewindable = attempts > 1 && PrepareBody(context, modelName);
        var attempt = new RoutingAttempt();
        context.Features.Set(attempt);
        for (int i = 0; ; i++)
        {
            DestinationState destination = candidates[i];
            bool last = i == attempts - 1 || !rewindable;
            attempt.CanRetry = !last;
            attempt.Misdirected = false;
            proxy.AvailableDestinations = [destination];
            metrics.Routed(destination.DestinationId);
            await next(context).ConfigureAwait(false);

            IForwarderErrorFeature? error = context.Features.Get<IForwarderErrorFeature>();
            bool failedBeforeAnswer = error is { Error: ForwarderError.Request or ForwarderError.RequestBodyDestination } && !context.Response.HasStarted;
            if (failedBeforeAnswer)
            {
                // YARP's passive health state: the instance goes last among owners until it is reset.
                health.SetPassive(cluster, destination, DestinationHealth.Unhealthy, settings.ReactivationPeriod);
            }

            if (last || !(attempt.Misdirected || failedBeforeAnswer) || context.Response.HasStarted || context.RequestAborted.IsCancellationRequested)
            {
                return;
            }

            string nextId = candidates[i + 1].DestinationId;
            if (attempt.Misdirected)
            {
                RoutingLog.RetryAfterMisdirected(logger, settings.FleetName, destination.DestinationId, modelName, nextId);
                metrics.Retried(RoutingMetrics.Misdirected);
                membership.RefreshSoon();
            }
            else
            {
                RoutingLog.RetryAfterFailure(logger, settings.FleetName, destination.DestinationId, modelName, error!.Error.ToString(), settings.ReactivationPeriod, nextId, error.Exception);
                metrics.Retried(RoutingMetrics.TransportFailure);
            }

            // The next attempt starts as the first did: no status, no headers, no error, the body from its start.
            context.Response.Clear();
            context.Features.Set<IForwarderErrorFeature>(null);
            if (context.Request.Body.CanSeek)
            {
                context.Request.Body.Position = 0;
            }
        }
    }

    /// <summary>The model the route names, or <see langword="null"/> when the value is missing or makes no valid model name.</summary>
    private string? ModelName(HttpContext context)
    {
        if (context.Request.RouteValues.TryGetValue(settings.RouteValueName, out object? value) && value is string { Length: > 0 and <= ModelNames.MaxLength } text)
        {
            string name = settings.ModelName(text);
            if (ModelNames.IsValid(name))
            {
                return name;
            }
        }

        return null;
    }

    /// <summary>The owners YARP has a destination for, in the owners' order, those YARP marked unhealthy last.</summary>
    private static List<DestinationState> Candidates(IReadOnlyList<string> owners, IReadOnlyList<DestinationState> destinations)
    {
        var healthy = new List<DestinationState>(owners.Count);
        List<DestinationState>? failing = null;
        foreach (string owner in owners)
        {
            foreach (DestinationState destination in destinations)
            {
                if (string.Equals(destination.DestinationId, owner, StringComparison.OrdinalIgnoreCase))
                {
                    if (destination.Health.Passive == DestinationHealth.Unhealthy || destination.Health.Active == DestinationHealth.Unhealthy)
                    {
                        (failing ??= []).Add(destination);
                    }
                    else
                    {
                        healthy.Add(destination);
                    }

                    break;
                }
            }
        }

        if (failing is not null)
        {
            healthy.AddRange(failing);
        }

        return healthy;
    }

    /// <summary>
    /// Keeps the request's body so that another owner can be sent the same bytes: a body of known length up to
    /// <see cref="RoutingSettings.MaxBufferedBodyBytes"/> is buffered (in memory up to 64 KiB, then in a temporary file);
    /// returns whether the request can be sent again.
    /// </summary>
    private bool PrepareBody(HttpContext context, string modelName)
    {
        HttpRequest request = context.Request;
        bool canHaveBody = context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? request.ContentLength > 0;
        if (!canHaveBody || request.ContentLength == 0)
        {
            return true;
        }

        if (request.ContentLength is long length && length <= settings.MaxBufferedBodyBytes)
        {
            request.EnableBuffering((int)Math.Min(BodyBufferThreshold, settings.MaxBufferedBodyBytes), settings.MaxBufferedBodyBytes);
            return true;
        }

        RoutingLog.BodyNotBuffered(logger, settings.FleetName, modelName, settings.MaxBufferedBodyBytes);
        return false;
    }

    private async Task WaitForFirstReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            await membership.FirstRead.WaitAsync(settings.RefreshInterval, time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Routed by what is known (nothing yet): the request gets the router's 503.
        }
    }

    private Task InvalidModelNameAsync(HttpContext context)
    {
        string value = context.Request.RouteValues.TryGetValue(settings.RouteValueName, out object? raw) ? Convert.ToString(raw, CultureInfo.InvariantCulture) ?? string.Empty : string.Empty;
        string shown = ModelNames.Shorten(value);
        RoutingLog.InvalidModelName(logger, settings.FleetName, shown);
        return Problem(
            context,
            StatusCodes.Status400BadRequest,
            "Not a model name",
            $"The route value '{settings.RouteValueName}' ('{shown}') makes no valid model name: 1 to {ModelNames.MaxLength} ASCII letters, digits, '-', '_' or '.', starting with a letter or a digit.",
            new Dictionary<string, object?> { ["fleet"] = settings.FleetName });
    }

    private Task NoOwnerAsync(HttpContext context, string modelName, RoutingTable table)
    {
        RoutingLog.NoOwner(logger, settings.FleetName, modelName, table.Members.Count);
        metrics.NoOwner();
        context.Response.Headers.RetryAfter = ((int)Math.Ceiling(settings.RefreshInterval.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        string detail = table.Members.Count == 0
            ? $"No live instance of fleet '{settings.FleetName}' is known to the router, so none serves model '{modelName}'."
            : $"None of the {table.Members.Count} live instances of fleet '{settings.FleetName}' that own model '{modelName}' can be reached: none has an address (RedisFleetOptions.Address) the router knows yet.";
        return Problem(
            context,
            StatusCodes.Status503ServiceUnavailable,
            "No instance serves the model",
            detail,
            new Dictionary<string, object?> { ["model"] = modelName, ["fleet"] = settings.FleetName });
    }

    private static Task Problem(HttpContext context, int status, string title, string detail, Dictionary<string, object?> extensions) =>
        Results.Problem(detail: detail, statusCode: status, title: title, extensions: extensions).ExecuteAsync(context);
}
