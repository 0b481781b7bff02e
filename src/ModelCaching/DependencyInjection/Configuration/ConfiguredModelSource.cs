using Microsoft.Extensions.Logging;

namespace ModelCaching;

/// <summary>
/// The source keys of a model's configuration section (<c>ModelCache:Models:{name}:FilePath</c>, <c>Uri</c>,
/// <c>AllowHttp</c>, <c>WatchForChanges</c>, <c>UsePolling</c>, <c>PollingInterval</c>): a file or an address for a model
/// whose code sets no source. They bind here, not onto <see cref="ModelOptions"/>, whose one way to name a source in code
/// is <see cref="ModelOptions{TModel}.Source"/> (<c>FromFile</c>, <c>FromHttp</c>) with its own options
/// (<see cref="FileModelSourceOptions"/>, <see cref="HttpModelSourceOptions"/>).
/// </summary>
internal sealed class ConfiguredModelSource
{
    /// <summary>A model file. A relative path is resolved against the host's content root (<see cref="ModelContentRoot"/>).</summary>
    public string? FilePath { get; set; }

    /// <summary>An <c>https</c> address, used when <see cref="FilePath"/> is not set.</summary>
    public Uri? Uri { get; set; }

    /// <summary>Whether <see cref="Uri"/> may be plain <c>http</c>.</summary>
    public bool AllowHttp { get; set; }

    /// <summary>Whether the source looks for changes (a file watcher, or HTTP polling with conditional GETs).</summary>
    public bool WatchForChanges { get; set; }

    /// <summary>For a watched file: poll instead of listening to file-system events.</summary>
    public bool UsePolling { get; set; }

    /// <summary>For a watched file or address: how often to poll, or <see langword="null"/> for the source's default.</summary>
    public TimeSpan? PollingInterval { get; set; }

    /// <summary>Whether the section names a source (a file or an address).</summary>
    public bool IsSet => !string.IsNullOrWhiteSpace(FilePath) || Uri is not null;

    /// <summary>This source with <see cref="FilePath"/> replaced (a copy: options copied from one another share the original).</summary>
    public ConfiguredModelSource WithFilePath(string path)
    {
        var copy = (ConfiguredModelSource)MemberwiseClone();
        copy.FilePath = path;
        return copy;
    }

    /// <summary>The source the keys describe, on <paramref name="timeProvider"/>, or <see langword="null"/> when they name none.</summary>
    public IModelSource? Create(TimeProvider timeProvider, ILoggerFactory loggerFactory)
    {
        if (FilePath is { Length: > 0 } path)
        {
            var file = new FileModelSourceOptions { WatchForChanges = WatchForChanges, UsePolling = UsePolling };
            if (PollingInterval is { } filePolling)
            {
                file.PollingInterval = filePolling;
            }

            return new FileModelSource(path, file, timeProvider, loggerFactory);
        }

        if (Uri is { } uri)
        {
            var http = new HttpModelSourceOptions { Uri = uri, AllowHttp = AllowHttp };
            http.PollingInterval = WatchForChanges ? PollingInterval ?? http.PollingInterval : null;
            return new HttpModelSource(http, timeProvider, loggerFactory);
        }

        return null;
    }

    /// <summary>The problems of these keys, for the start-up validation of model <paramref name="modelName"/>.</summary>
    public IEnumerable<string> Problems(string modelName)
    {
        if (PollingInterval is { } polling && polling <= TimeSpan.Zero)
        {
            yield return ModelOptionsRules.Problem(modelName, nameof(PollingInterval), $"must be positive (was {polling})");
        }

        if (Uri is { } uri && (!uri.IsAbsoluteUri || (uri.Scheme != Uri.UriSchemeHttps && (uri.Scheme != Uri.UriSchemeHttp || !AllowHttp))))
        {
            yield return ModelOptionsRules.Problem(modelName, nameof(Uri), $"must be an absolute https:// address, or http:// with AllowHttp (was '{AddressRedaction.Redact(uri)}')");
        }
    }
}
