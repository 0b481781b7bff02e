using Microsoft.Extensions.Logging;
using ModelCaching;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Downloads models through the application's <see cref="IHttpClientFactory"/>.</summary>
public static class ModelBuilderHttpExtensions
{
    /// <summary>
    /// Downloads the model from <paramref name="uri"/> with the <see cref="IHttpClientFactory"/> client
    /// <see cref="HttpModelSourceOptions.HttpClientName"/>, polling for a new version with conditional GETs.
    /// </summary>
    /// <param name="builder">The model's builder.</param>
    /// <param name="uri">The model's address: https, or http with <see cref="HttpModelSourceOptions.AllowHttp"/>.</param>
    /// <param name="configure">Changes the polling interval, jitter, timeout and what is accepted.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="ArgumentException">The address is not absolute https (or http without AllowHttp); the message names the model.</exception>
    public static ModelBuilder<TModel> FromHttp<TModel>(this ModelBuilder<TModel> builder, Uri uri, Action<HttpModelSourceOptions>? configure = null)
        where TModel : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(uri);
        return builder.FromHttp(uri.OriginalString, configure);
    }

    /// <inheritdoc cref="FromHttp{TModel}(ModelBuilder{TModel}, Uri, Action{HttpModelSourceOptions}?)"/>
    /// <param name="builder">The model's builder.</param>
    /// <param name="uri">The model's address: https, or http with <see cref="HttpModelSourceOptions.AllowHttp"/>. In a template, <c>{name}</c> stands for each model's name (escaped), as in <c>https://models.example.com/{name}.zip</c>.</param>
    /// <param name="configure">Changes the polling interval, jitter, timeout and what is accepted.</param>
    public static ModelBuilder<TModel> FromHttp<TModel>(this ModelBuilder<TModel> builder, string uri, Action<HttpModelSourceOptions>? configure = null)
        where TModel : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(uri);
        builder.RequireNamePlaceholder(uri, nameof(uri));

        // Checked now, with a sample name for a template, so that a bad address fails at registration.
        HttpModelSourceOptions checkedOptions = OptionsFor(builder, uri, builder.IsTemplate ? "name" : builder.Name, configure);
        builder.Services.AddHttpClient(checkedOptions.HttpClientName);
        return builder.Configure((options, services, name) =>
        {
            HttpModelSourceOptions httpOptions = builder.IsTemplate ? OptionsFor(builder, uri, name, configure) : checkedOptions;
            IHttpClientFactory clients = services.GetRequiredService<IHttpClientFactory>();
            string clientName = httpOptions.HttpClientName;
            options.Source = new HttpModelSource(httpOptions, () => clients.CreateClient(clientName), services.GetService<TimeProvider>(), services.GetService<ILoggerFactory>());
            options.OwnsSource = true; // the cache disposes it (its polling timer) with itself
        });
    }

    private static HttpModelSourceOptions OptionsFor<TModel>(ModelBuilder<TModel> builder, string uri, string name, Action<HttpModelSourceOptions>? configure)
        where TModel : class
    {
        string address = builder.IsTemplate ? uri.Replace(ModelBuilder<TModel>.NamePlaceholder, Uri.EscapeDataString(name), StringComparison.Ordinal) : uri;
        if (!Uri.TryCreate(address, UriKind.Absolute, out Uri? parsed))
        {
            throw new ArgumentException($"Model '{builder.Name}': '{AddressRedaction.Redact(uri)}' is not an absolute address.", nameof(uri));
        }

        var httpOptions = new HttpModelSourceOptions { Uri = parsed };
        configure?.Invoke(httpOptions);
        httpOptions.Validate(builder.IsTemplate ? name : builder.Name);
        return httpOptions;
    }
}
