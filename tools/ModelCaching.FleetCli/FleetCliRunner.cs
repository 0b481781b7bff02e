using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelCaching.Redis;

namespace ModelCaching.FleetCli;

/// <summary>
/// Runs one command against the fleet: a process of the fleet with no models (it publishes and reads, it is no member),
/// made with the library's own <c>AddRedisFleet</c>, so its records are exactly what the instances read.
/// Exit codes: 0 done; 1 refused (the change is not possible as asked, a bad argument or option); 2 Redis did not answer.
/// </summary>
/// Locations: absolute file paths, http(s) addresses, and <c>azure-blob://container/blob[?versionid=…|?snapshot=…]</c>
/// (ModelCaching.Azure's reader, with the storage client from <c>--azure-storage</c> or <c>--azure-service-uri</c>).
internal sealed class FleetCliRunner(string redis, string fleetName, string? keyPrefix, FileInfo? keyFile, AzureStorage azure, TextWriter output, TextWriter error)
{
    public const int Refused = 1;
    public const int Unreachable = 2;

    public Task<int> PublishAsync(string model, FileInfo file, double? canary, string? versionId, bool byPath, CancellationToken cancellationToken) =>
        RunAsync(async fleet =>
        {
            if (!file.Exists)
            {
                throw new ArgumentException($"the file '{file.FullName}' does not exist");
            }

            var options = new FleetPublishOptions { VersionId = versionId, CanaryShare = canary, Storage = byPath ? FleetContentStorage.Location : null };
            FleetVersion version = await fleet.PublishFileAsync(model, file.FullName, options, cancellationToken).ConfigureAwait(false);
            await ReportPublishedAsync(fleet, model, version, cancellationToken).ConfigureAwait(false);
        });

    /// <summary>
    /// Publishes a version by <paramref name="location"/>. Without <paramref name="sha256"/> the tool reads the content once
    /// through the location's reader (a blob, with this machine's storage access) to compute its SHA-256 and size.
    /// </summary>
    public Task<int> PublishLocationAsync(string model, string location, string? sha256, long? size, double? canary, string? versionId, CancellationToken cancellationToken) =>
        RunAsync(async (fleet, services) =>
        {
            if (sha256 is null != size is null)
            {
                throw new ArgumentException("give --sha256 and --size together, or neither (the tool then reads the content to compute them)");
            }

            if (sha256 is null)
            {
                IFleetContentLocationReader reader = services.GetServices<IFleetContentLocationReader>().FirstOrDefault(r => r.CanRead(location))
                    ?? throw new ArgumentException($"the tool reads only azure-blob:// locations to compute their SHA-256; give --sha256 and --size for '{location.Split('?')[0]}'");
                byte[] content = await reader.ReadAsync(model, location, long.MaxValue, cancellationToken).ConfigureAwait(false);
                sha256 = Convert.ToHexStringLower(SHA256.HashData(content));
                size = content.Length;
            }

            var options = new FleetPublishOptions { VersionId = versionId, CanaryShare = canary };
            FleetVersion version = await fleet.PublishLocationAsync(model, location, sha256, size!.Value, options, cancellationToken).ConfigureAwait(false);
            await ReportPublishedAsync(fleet, model, version, cancellationToken).ConfigureAwait(false);
        });

    private async Task ReportPublishedAsync(IModelFleet fleet, string model, FleetVersion version, CancellationToken cancellationToken)
    {
        FleetDesiredVersion? desired = await fleet.GetDesiredVersionAsync(model, cancellationToken).ConfigureAwait(false);
        string where = version.Storage == FleetContentStorage.Store ? "its bytes in Redis" : $"by location {version.Location}";
        await output.WriteLineAsync($"published {model} version {version.VersionId} to fleet '{fleet.FleetName}' (SHA-256 {version.Sha256}, {version.SizeBytes} bytes, {where}{(version.Signature is null ? string.Empty : ", signed")})").ConfigureAwait(false);
        if (desired is { Pinned: true } && desired.Version.VersionId != version.VersionId)
        {
            await output.WriteLineAsync($"the model is pinned on {desired.Version.VersionId}: the fleet stays there until 'unpin'").ConfigureAwait(false);
        }
        else if (desired?.Rollout is { Stage: FleetRolloutStage.Canary } rollout && desired.Version.VersionId == version.VersionId)
        {
            await output.WriteLineAsync($"canaries: {string.Join(", ", rollout.Canaries)}; the rest stay on {rollout.Previous?.VersionId ?? "what they have"} until 'promote' (a canary's failure stops the rollout by itself)").ConfigureAwait(false);
        }
    }

    public Task<int> ChangeAsync(string done, string model, Func<IModelFleet, string, CancellationToken, Task<FleetDesiredVersion>> change, CancellationToken cancellationToken) =>
        RunAsync(async fleet =>
        {
            FleetDesiredVersion desired = await change(fleet, model, cancellationToken).ConfigureAwait(false);
            string rollout = desired.Rollout is { } r ? $", rollout {r.Stage.ToString().ToLowerInvariant()}" : string.Empty;
            await output.WriteLineAsync($"{done} {model} in fleet '{fleet.FleetName}': desired version {desired.Version.VersionId}{(desired.Pinned ? " (pinned)" : string.Empty)}{rollout}").ConfigureAwait(false);
        });

    public Task<int> StatusAsync(string? model, bool json, CancellationToken cancellationToken) =>
        RunAsync(async fleet =>
        {
            FleetStatus status = await fleet.GetStatusAsync(cancellationToken).ConfigureAwait(false);
            if (model is not null)
            {
                status = status with { Models = [.. status.Models.Where(m => m.Name == model)] };
            }

            await output.WriteAsync(json ? JsonSerializer.Serialize(status, FleetCliJsonContext.Default.FleetStatus) + Environment.NewLine : StatusText.Format(status)).ConfigureAwait(false);
        });

    private Task<int> RunAsync(Func<IModelFleet, Task> command) => RunAsync((fleet, _) => command(fleet));

    private async Task<int> RunAsync(Func<IModelFleet, IServiceProvider, Task> command)
    {
        try
        {
            await using ServiceProvider services = Services();
            await command(services.GetRequiredService<IModelFleet>(), services).ConfigureAwait(false);
            return 0;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or OptionsValidationException or IOException or UnauthorizedAccessException or AzureBlobModelSourceException or global::Azure.Identity.AuthenticationFailedException)
        {
            await error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return Refused;
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            await error.WriteLineAsync($"error: Redis did not answer ({ex.GetType().Name}: {ex.Message})").ConfigureAwait(false);
            return Unreachable;
        }
    }

    private ServiceProvider Services()
    {
        if (string.IsNullOrWhiteSpace(redis))
        {
            throw new ArgumentException("give Redis with --redis host:port (or MODELCACHING_FLEET_REDIS)");
        }

        string? signingKey = keyFile is null ? null : File.ReadAllText(keyFile.FullName).Trim();
        var services = new ServiceCollection();
        services.AddModelCache().AddRedisFleet(o =>
        {
            // Fail in seconds rather than wait for a Redis that is not there (the instances' own settings keep retrying).
            o.Configuration = $"{redis},connectTimeout=3000,syncTimeout=5000,asyncTimeout=5000";
            o.FleetName = fleetName;
            o.SigningKey = signingKey;
            if (keyPrefix is not null)
            {
                o.KeyPrefix = keyPrefix;
            }
        });

        // Locations in blobs: the reader claims them by their text alone, so a publish with --sha256 needs no storage access.
        services.AddAzureBlobFleetLocations(o =>
        {
            o.ConnectionString = azure.ConnectionString;
            o.ServiceUri = azure.ServiceUri;
        });
        return services.BuildServiceProvider();
    }
}

/// <summary>How the tool reaches Azure Storage to read a blob location: a connection string, or a service address with <c>DefaultAzureCredential</c>.</summary>
internal sealed record AzureStorage(string? ConnectionString, Uri? ServiceUri);

/// <summary>The status as JSON (source-generated), with enums as their names.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, WriteIndented = true)]
[JsonSerializable(typeof(FleetStatus))]
internal sealed partial class FleetCliJsonContext : JsonSerializerContext;
