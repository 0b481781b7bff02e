using ModelCaching.Routing.Proxy;

namespace Microsoft.AspNetCore.Builder;

/// <summary>The proxy pipeline step that sends each request for a model to an instance that owns it.</summary>
public static class ModelCacheRoutingProxyPipelineExtensions
{
    /// <summary>
    /// Routes the requests of the routes that send to the router's cluster (<c>AddModelCacheRouting</c>) to the owners of
    /// their model: the route value names the model, and the request goes to an owner that has it loaded, else to the
    /// first owner by placement; when that one fails before answering (connection refused or reset) or answers 421
    /// Misdirected Request, to the next owner. Requests of other routes pass through unchanged. Put it before YARP's
    /// <c>UseLoadBalancing()</c> and <c>UsePassiveHealthChecks()</c> if the pipeline has them:
    /// <c>app.MapReverseProxy(p =&gt; p.UseModelCacheRouting())</c>.
    /// </summary>
    /// <param name="builder">The proxy pipeline (<c>MapReverseProxy</c>'s argument).</param>
    /// <returns>The same builder.</returns>
    public static IReverseProxyApplicationBuilder UseModelCacheRouting(this IReverseProxyApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.UseMiddleware<ModelCacheRoutingMiddleware>();
        return builder;
    }
}
