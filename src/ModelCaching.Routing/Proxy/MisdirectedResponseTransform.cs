using System.Net;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace ModelCaching.Routing.Proxy;

/// <summary>
/// Holds back an instance's 421 Misdirected Request (it does not own the model) when another owner is left to try: the
/// body is not copied and the response has not started, so <see cref="ModelCacheRoutingMiddleware"/> clears it and sends
/// the request on. The last owner's 421 reaches the client as it is (its problem details name the owners).
/// </summary>
internal sealed class MisdirectedResponseTransform : ResponseTransform
{
    public static readonly MisdirectedResponseTransform Instance = new();

    public override ValueTask ApplyAsync(ResponseTransformContext context)
    {
        if (context.ProxyResponse?.StatusCode == HttpStatusCode.MisdirectedRequest
            && context.HttpContext.Features.Get<RoutingAttempt>() is { CanRetry: true } attempt)
        {
            attempt.Misdirected = true;
            context.SuppressResponseBody = true;
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>Adds <see cref="MisdirectedResponseTransform"/> to the routes that send to the router's cluster.</summary>
internal sealed class MisdirectedTransformProvider(RoutingSettings settings) : ITransformProvider
{
    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        if (string.Equals(context.Route.ClusterId, settings.ClusterId, StringComparison.OrdinalIgnoreCase))
        {
            context.ResponseTransforms.Add(MisdirectedResponseTransform.Instance);
        }
    }
}
