using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace ModelCaching.Samples.WebApi.Security;

/// <summary>
/// Authenticates a caller by a key in a request header (<see cref="ApiKeyAuthenticationOptions.HeaderName"/>):
/// the admin key gives role <see cref="ApiKeyDefaults.AdminRole"/>, the reader key <see cref="ApiKeyDefaults.ReaderRole"/>.
/// No header: anonymous (401 where a policy applies). A wrong key: authentication fails (401).
/// </summary>
/// <remarks>
/// A sample-sized scheme: one shared secret per role, compared in constant time. A real deployment would
/// put the admin endpoints behind its identity provider (JWT bearer, mTLS) and name that policy instead.
/// </remarks>
public sealed class ApiKeyAuthenticationHandler(IOptionsMonitor<ApiKeyAuthenticationOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<ApiKeyAuthenticationOptions>(options, logger, encoder)
{
    /// <inheritdoc />
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(Options.HeaderName, out var values) || string.IsNullOrEmpty(values.ToString()))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        string presented = values.ToString();
        string? role = Matches(presented, Options.AdminKey) ? ApiKeyDefaults.AdminRole
            : Matches(presented, Options.ReaderKey) ? ApiKeyDefaults.ReaderRole
            : null;
        if (role is null)
        {
            return Task.FromResult(AuthenticateResult.Fail($"The {Options.HeaderName} header does not hold a configured key."));
        }

        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, $"{role} key"), new Claim(ClaimTypes.Role, role)],
            Scheme.Name);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
    }

    /// <inheritdoc />
    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = $"{ApiKeyDefaults.Scheme} header=\"{Options.HeaderName}\"";
        return Task.CompletedTask;
    }

    /// <summary>Compares in constant time (hashes first, so the length of the key does not leak either). An unset key matches nothing.</summary>
    private static bool Matches(string presented, string? expected) =>
        !string.IsNullOrEmpty(expected)
        && CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(presented)),
            SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
}
