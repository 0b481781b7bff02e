using Microsoft.Extensions.Options;
using ModelCaching.Redis.Records;

namespace ModelCaching.Routing;

/// <summary>Checks <see cref="ModelCacheRoutingOptions"/> at start; every problem is reported at once, each naming its field.</summary>
internal sealed class ModelCacheRoutingOptionsValidator : IValidateOptions<ModelCacheRoutingOptions>
{
    private const string Prefix = "ModelCacheRouting: ";

    public ValidateOptionsResult Validate(string? name, ModelCacheRoutingOptions options)
    {
        List<string> problems = [.. Problems(options)];
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static IEnumerable<string> Problems(ModelCacheRoutingOptions options)
    {
        if (options.Configuration is null && options.ConfigurationOptions is null && options.ConnectionMultiplexerFactory is null)
        {
            yield return $"{Prefix}Configuration (the fleet's Redis, localhost:6379), ConfigurationOptions or ConnectionMultiplexerFactory must be set";
        }

        if (!FleetNames.IsValid(options.FleetName))
        {
            yield return $"{Prefix}FleetName '{options.FleetName}' must be 1 to {FleetNames.MaxLength} letters, digits, '-', '_' or '.'";
        }

        if (string.IsNullOrWhiteSpace(options.KeyPrefix))
        {
            yield return $"{Prefix}KeyPrefix must not be empty";
        }

        if (string.IsNullOrWhiteSpace(options.ClusterId))
        {
            yield return $"{Prefix}ClusterId must not be empty";
        }

        if (string.IsNullOrWhiteSpace(options.RouteValueName))
        {
            yield return $"{Prefix}RouteValueName must not be empty";
        }
        else if (options.ModelNameFormat is not { } format || CountPlaceholders(format, "{" + options.RouteValueName + "}") != 1)
        {
            yield return $"{Prefix}ModelNameFormat '{options.ModelNameFormat}' must hold '{{{options.RouteValueName}}}' (the route value RouteValueName names) exactly once, as in 'tenant-{{{options.RouteValueName}}}'";
        }

        if (options.RefreshInterval < TimeSpan.FromMilliseconds(100) || options.RefreshInterval > TimeSpan.FromMinutes(10))
        {
            yield return $"{Prefix}RefreshInterval must be between 100 ms and 10 minutes, not {options.RefreshInterval}";
        }

        if (options.ReactivationPeriod <= TimeSpan.Zero)
        {
            yield return $"{Prefix}ReactivationPeriod must be positive, not {options.ReactivationPeriod}";
        }

        if (options.MaxAttempts < 1)
        {
            yield return $"{Prefix}MaxAttempts must be at least 1, not {options.MaxAttempts}";
        }

        if (options.MaxBufferedBodyBytes < 0)
        {
            yield return $"{Prefix}MaxBufferedBodyBytes must not be negative, not {options.MaxBufferedBodyBytes}";
        }
    }

    private static int CountPlaceholders(string format, string placeholder)
    {
        int count = 0;
        for (int at = format.IndexOf(placeholder, StringComparison.Ordinal); at >= 0; at = format.IndexOf(placeholder, at + placeholder.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
