namespace ModelCaching.Routing.Proxy;

/// <summary>
/// The router's state of one request, as an <c>HttpContext</c> feature: whether the attempt being sent may be sent to
/// another owner, and whether the instance answered 421 (set by <see cref="MisdirectedResponseTransform"/>).
/// </summary>
internal sealed class RoutingAttempt
{
    /// <summary>Whether another owner is left to try after this attempt (so a 421 is held back from the client).</summary>
    public bool CanRetry { get; set; }

    /// <summary>Whether the instance answered 421 Misdirected Request and the response was held back.</summary>
    public bool Misdirected { get; set; }
}
