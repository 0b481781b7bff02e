namespace ModelCaching;

/// <summary>
/// Where an <see cref="HttpModelSource"/> downloads a model from, how often it polls for a new version,
/// and what it accepts.
/// </summary>
public sealed class HttpModelSourceOptions
{
    /// <summary>The default name of the <c>IHttpClientFactory</c> client: <c>ModelCaching</c>.</summary>
    public const string DefaultHttpClientName = "ModelCaching";

    private string _httpClientName = DefaultHttpClientName;
    private TimeSpan? _pollingInterval = TimeSpan.FromMinutes(5);
    private double _pollingJitter = 0.1;
    private TimeSpan _timeout = TimeSpan.FromSeconds(100);

    /// <summary>
    /// The model's address. Must be <c>https</c>, or <c>http</c> with <see cref="AllowHttp"/>.
    /// <value>The default is <see langword="null"/>; a source needs one.</value>
    /// </summary>
    public Uri? Uri { get; set; }

    /// <summary>
    /// The name of the <c>IHttpClientFactory</c> client used for downloads; configure it
    /// with <c>services.AddHttpClient(name)</c> to add authentication, proxies or resilience handlers.
    /// <value>The default is <c>ModelCaching</c>.</value>
    /// </summary>
    /// <exception cref="ArgumentException">The value is null or white space.</exception>
    public string HttpClientName
    {
        get => _httpClientName;
        set
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(value);
            _httpClientName = value;
        }
    }

    /// <summary>
    /// How often the source asks the server for a new version (a conditional GET, answered 304 when nothing
    /// changed), or <see langword="null"/> not to poll (reload explicitly or on a backplane message).
    /// <value>The default is 5 minutes.</value>
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public TimeSpan? PollingInterval
    {
        get => _pollingInterval;
        set => _pollingInterval = PollingClock.CheckInterval(value);
    }

    /// <summary>
    /// How much each polling delay varies at random, as a fraction of <see cref="PollingInterval"/> (0 to 1),
    /// so a fleet of instances does not download and reload at the same moment.
    /// <value>The default is 0.1 (each delay is within ±10% of the interval).</value>
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not between 0 and 1.</exception>
    public double PollingJitter
    {
        get => _pollingJitter;
        set => _pollingJitter = PollingClock.CheckJitter(value);
    }

    /// <summary>
    /// The longest one download may take, headers and body. A slower server fails the load with a
    /// <see cref="TimeoutException"/>; the cache keeps serving the last good model.
    /// <value>The default is 100 seconds.</value>
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is neither positive nor <see cref="Timeout.InfiniteTimeSpan"/>.</exception>
    public TimeSpan Timeout
    {
        get => _timeout;
        set
        {
            if (value <= TimeSpan.Zero && value != System.Threading.Timeout.InfiniteTimeSpan)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "The timeout must be positive or Timeout.InfiniteTimeSpan.");
            }

            _timeout = value;
        }
    }

    /// <summary>
    /// Whether a plain <c>http</c> address is accepted. Models are code-like (a tampered model gives wrong
    /// answers), so downloads need HTTPS unless this is on (a sidecar on localhost, a test server).
    /// <value>The default is <see langword="false"/>.</value>
    /// </summary>
    public bool AllowHttp { get; set; }

    /// <summary>
    /// Whether a body that starts with <c>&lt;</c> is accepted. Off, such a body is taken for an error page
    /// (a proxy's or a login page's HTML served with status 200) and rejected before the loader sees it;
    /// turn it on for XML model formats such as PMML. A <c>text/html</c> content type is always rejected.
    /// <value>The default is <see langword="false"/>.</value>
    /// </summary>
    public bool AllowMarkupContent { get; set; }

    /// <summary>Throws when the options cannot make a source, naming the model (when known) and the field.</summary>
    internal void Validate(string? modelName)
    {
        string who = modelName is null ? "The HTTP model source" : $"Model '{modelName}'";
        if (Uri is null)
        {
            throw new ArgumentException($"{who}: Uri is not set.", nameof(Uri));
        }

        if (!Uri.IsAbsoluteUri || (Uri.Scheme != System.Uri.UriSchemeHttps && Uri.Scheme != System.Uri.UriSchemeHttp))
        {
            throw new ArgumentException($"{who}: Uri must be an absolute https:// address (was '{AddressRedaction.Redact(Uri)}').", nameof(Uri));
        }

        if (Uri.Scheme == System.Uri.UriSchemeHttp && !AllowHttp)
        {
            throw new ArgumentException($"{who}: Uri '{AddressRedaction.Redact(Uri)}' uses plain http; use https, or set AllowHttp to accept an unencrypted download.", nameof(Uri));
        }
    }

    internal HttpModelSourceOptions Clone() => new()
    {
        Uri = Uri,
        _httpClientName = _httpClientName,
        _pollingInterval = _pollingInterval,
        _pollingJitter = _pollingJitter,
        _timeout = _timeout,
        AllowHttp = AllowHttp,
        AllowMarkupContent = AllowMarkupContent,
    };
}
