using Microsoft.AspNetCore.Authentication;

namespace ModelCaching.Samples.WebApi.Security;

/// <summary>The sample's API keys. Binds from the <c>Admin</c> configuration section.</summary>
public sealed class ApiKeyAuthenticationOptions : AuthenticationSchemeOptions
{
    /// <summary>The configuration section: <c>Admin</c>.</summary>
    public const string SectionName = "Admin";

    /// <summary>The request header that carries the key. The default is <c>X-Api-Key</c>.</summary>
    public string HeaderName { get; set; } = "X-Api-Key";

    /// <summary>The key of the admin role (reload, rollback, publish). Empty: no caller is an admin.</summary>
    public string? AdminKey { get; set; }

    /// <summary>The key of the reader role (model status). Empty: no caller is a reader.</summary>
    public string? ReaderKey { get; set; }

    /// <summary>Whether anyone may read <c>GET /models</c> without a key. It shows file paths and error messages, so the default is <see langword="false"/>.</summary>
    public bool AllowAnonymousStatus { get; set; }
}
