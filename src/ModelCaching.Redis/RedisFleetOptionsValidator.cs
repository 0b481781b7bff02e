using Microsoft.Extensions.Options;
using ModelCaching.Redis.Records;

namespace ModelCaching.Redis;

/// <summary>Checks <see cref="RedisFleetOptions"/> at start, with messages that name the field.</summary>
internal sealed class RedisFleetOptionsValidator : IValidateOptions<RedisFleetOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisFleetOptions options)
    {
        List<string> problems = [.. Problems(options)];
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    internal static IEnumerable<string> Problems(RedisFleetOptions options)
    {
        const string Prefix = "Redis fleet: RedisFleetOptions.";
        if (options.ConnectionMultiplexerFactory is null && options.ConfigurationOptions is null && string.IsNullOrWhiteSpace(options.Configuration))
        {
            yield return $"{Prefix}Configuration is not set: give the Redis configuration string (\"localhost:6379\"), ConfigurationOptions or a ConnectionMultiplexerFactory";
        }

        if (!FleetNames.IsValid(options.FleetName))
        {
            yield return $"{Prefix}FleetName '{options.FleetName}' is not valid: use 1 to {FleetNames.MaxLength} letters, digits, '.', '-' or '_'";
        }

        if (string.IsNullOrWhiteSpace(options.KeyPrefix))
        {
            yield return $"{Prefix}KeyPrefix is empty";
        }

        if (options.InstanceId is not null && !FleetNames.IsValid(options.InstanceId))
        {
            yield return $"{Prefix}InstanceId '{options.InstanceId}' is not valid: use 1 to {FleetNames.MaxLength} letters, digits, '.', '-' or '_'";
        }

        if (options.SigningKey is not null)
        {
            byte[]? key = null;
            try
            {
                key = Convert.FromBase64String(options.SigningKey);
            }
            catch (FormatException)
            {
            }

            if (key is null || key.Length < RedisFleetDefaults.MinSigningKeyBytes)
            {
                yield return $"{Prefix}SigningKey must be base64 of at least {RedisFleetDefaults.MinSigningKeyBytes} random bytes (32 recommended: openssl rand -base64 32)";
            }
        }

        if (options.MaxContentBytesInRedis is < 1 or > 512L * 1024 * 1024)
        {
            yield return $"{Prefix}MaxContentBytesInRedis must be between 1 and 512 MiB (a Redis string's limit), not {options.MaxContentBytesInRedis}";
        }

        if (options.VersionsKept is < 2 or > 1000)
        {
            yield return $"{Prefix}VersionsKept must be between 2 and 1000 (a rollback needs the version before), not {options.VersionsKept}";
        }

        if (options.ReconcileInterval < TimeSpan.FromMilliseconds(100))
        {
            yield return $"{Prefix}ReconcileInterval must be at least 100 ms, not {options.ReconcileInterval}";
        }

        if (options.ReconcileJitter is < 0 or > 0.5 || double.IsNaN(options.ReconcileJitter))
        {
            yield return $"{Prefix}ReconcileJitter must be between 0 and 0.5, not {options.ReconcileJitter}";
        }

        if (options.LoadJitter < TimeSpan.Zero || options.LoadJitter > TimeSpan.FromMinutes(10))
        {
            yield return $"{Prefix}LoadJitter must be between 0 and 10 minutes, not {options.LoadJitter}";
        }

        if (options.HeartbeatInterval < TimeSpan.FromMilliseconds(100))
        {
            yield return $"{Prefix}HeartbeatInterval must be at least 100 ms, not {options.HeartbeatInterval}";
        }

        if (options.MemberTimeToLive <= options.HeartbeatInterval)
        {
            yield return $"{Prefix}MemberTimeToLive ({options.MemberTimeToLive}) must be longer than HeartbeatInterval ({options.HeartbeatInterval}), or live instances would drop out between heartbeats";
        }

        if (options.Address is not null
            && (!Uri.TryCreate(options.Address, UriKind.Absolute, out Uri? address) || address.Scheme is not ("http" or "https")))
        {
            yield return $"{Prefix}Address '{options.Address}' is not an absolute http or https address (http://10.0.0.5:5080)";
        }

        if (options.Placement.Replicas < 1)
        {
            yield return $"{Prefix}Placement.Replicas must be at least 1, not {options.Placement.Replicas}";
        }

        foreach (string template in options.Placement.Templates)
        {
            if (string.IsNullOrWhiteSpace(template))
            {
                yield return $"{Prefix}Placement.Templates holds an empty name";
            }
        }

        foreach (string model in options.Models)
        {
            if (string.IsNullOrWhiteSpace(model))
            {
                yield return $"{Prefix}Models holds an empty name";
            }
        }
    }
}
