namespace ModelCaching.AspNetCore;

/// <summary>
/// Configures the endpoints that <c>MapModelCacheEndpoints</c> maps: where they live and which
/// authorization policies protect them. There is no anonymous default: <see cref="AuthorizationPolicy"/>
/// must name a policy, or mapping throws.
/// </summary>
public sealed class ModelCacheEndpointOptions
{
    /// <summary>
    /// The route prefix of the endpoints.
    /// <value>The default is <c>/models</c>.</value>
    /// </summary>
    public string Pattern { get; set; } = "/models";

    /// <summary>
    /// The authorization policy a caller must satisfy to reload or roll back a model, and to read the
    /// status unless <see cref="StatusAuthorizationPolicy"/> or <see cref="AllowAnonymousStatus"/> says otherwise.
    /// Required.
    /// <value>The default is <see langword="null"/>, which makes mapping throw.</value>
    /// </summary>
    public string? AuthorizationPolicy { get; set; }

    /// <summary>
    /// A separate (usually weaker) policy for the read-only status endpoints, or <see langword="null"/> to use
    /// <see cref="AuthorizationPolicy"/>.
    /// <value>The default is <see langword="null"/>.</value>
    /// </summary>
    public string? StatusAuthorizationPolicy { get; set; }

    /// <summary>
    /// Lets anyone read the status endpoints (model names, states, versions, sources, counters and errors).
    /// Reload and rollback still require <see cref="AuthorizationPolicy"/>. Turn it on only where the status
    /// is not sensitive: it shows file paths and error messages.
    /// <value>The default is <see langword="false"/>.</value>
    /// </summary>
    public bool AllowAnonymousStatus { get; set; }

    /// <summary>
    /// How many load attempts each model's status lists (newest first), at most.
    /// <value>The default is 10.</value>
    /// </summary>
    public int HistoryLength
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            field = value;
        }
    } = 10;
}
