using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ModelCaching.Redis.Records;

/// <summary>
/// Signs and checks the fleet's records with HMAC-SHA256. A version record is signed over every field that decides what an
/// instance loads (fleet, model, version id, SHA-256, size, storage, location, publisher, time), so it cannot be moved to
/// another model or fleet, or pointed at other bytes, without the key. A desired record is signed over every field an
/// instance acts on: the version (all of it), the pin, the action, who and when, the revision, the rollout (stage,
/// share, canaries, the previous version, the reason) and the withdrawn versions, so a client without the key cannot
/// promote, abort or stop a rollout, unpin, point the fleet at another (even a signed, older) version, nor strike a
/// version off the withdrawn ones for a later unpin or rollback to send to the whole fleet.
/// </summary>
internal sealed class RecordSigner(byte[]? key, string fleetName)
{
    private const string VersionDomain = "modelcaching-fleet-record-v1";
    private const string DesiredDomain = "modelcaching-fleet-desired-v1";

    /// <summary>Whether records are signed and checked.</summary>
    public bool IsEnabled => key is not null;

    /// <summary>The record with its signature, or as it is without a key.</summary>
    public FleetVersion Sign(FleetVersion version) => key is null ? version : version with { Signature = Convert.ToBase64String(Mac(key, Canonical(version))) };

    /// <summary>The desired record with its signature (over its revision too), or as it is without a key.</summary>
    public FleetDesiredVersion Sign(FleetDesiredVersion desired) => key is null ? desired : desired with { Signature = Convert.ToBase64String(Mac(key, Canonical(desired))) };

    /// <summary>Returns why the version record is refused, or <see langword="null"/> when it may be loaded.</summary>
    public string? Refusal(FleetVersion version) => key is null ? null : Check(key, version.Signature, Canonical(version), "record");

    /// <summary>
    /// Returns why the desired record is refused (its own signature, then that of the version it makes
    /// <paramref name="target"/>), or <see langword="null"/> when an instance may act on it.
    /// </summary>
    public string? Refusal(FleetDesiredVersion desired, FleetVersion? target) =>
        key is null ? null : Check(key, desired.Signature, Canonical(desired), "desired record") ?? (target is null ? null : Refusal(target));

    private static string? Check(byte[] secret, string? signature, string canonical, string what)
    {
        if (signature is null)
        {
            return $"the {what} is not signed, and this instance has a signing key (RedisFleetOptions.SigningKey): only signed records are followed";
        }

        Span<byte> given = stackalloc byte[HMACSHA256.HashSizeInBytes];
        if (!Convert.TryFromBase64String(signature, given, out int written) || written != given.Length)
        {
            return $"the {what}'s signature is not a base64 HMAC-SHA256";
        }

        return CryptographicOperations.FixedTimeEquals(given, Mac(secret, canonical))
            ? null
            : $"the {what}'s signature does not match: it was signed with another key, or changed after it was signed";
    }

    private static byte[] Mac(byte[] secret, string canonical) => HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(canonical));

    private string Canonical(FleetVersion version)
    {
        var canonical = new StringBuilder();
        Append(canonical, VersionDomain, fleetName);
        AppendVersion(canonical, version);
        return canonical.ToString();
    }

    private string Canonical(FleetDesiredVersion desired)
    {
        var canonical = new StringBuilder();
        Append(canonical, DesiredDomain, fleetName, desired.Version.Model, Number(desired.Revision), desired.Pinned ? "pinned" : "unpinned", desired.Action.ToString(), desired.ChangedBy, Number(desired.ChangedAt.UtcTicks));
        AppendVersion(canonical, desired.Version);
        AppendRollout(canonical, desired.Rollout);

        // Only a list with versions in it: a record without any (one written before the list existed, too) signs as before.
        if (desired.Withdrawn is { Count: > 0 } withdrawn)
        {
            Append(canonical, "withdrawn", Number(withdrawn.Count));
            foreach (string versionId in withdrawn)
            {
                Append(canonical, versionId);
            }
        }

        return canonical.ToString();
    }

    private static void AppendRollout(StringBuilder canonical, FleetRollout? rollout)
    {
        if (rollout is null)
        {
            Append(canonical, "no-rollout");
            return;
        }

        // The share by its bits: JSON keeps a double exactly, and no formatting of it can differ between writer and reader.
        Append(canonical, "rollout", rollout.Stage.ToString(), Number(BitConverter.DoubleToInt64Bits(rollout.CanaryShare)), rollout.Reason ?? "\0", Number(rollout.Canaries.Count));
        foreach (string canary in rollout.Canaries)
        {
            Append(canonical, canary);
        }

        if (rollout.Previous is { } previous)
        {
            Append(canonical, "previous");
            AppendVersion(canonical, previous);
        }
        else
        {
            Append(canonical, "no-previous");
        }
    }

    private static void AppendVersion(StringBuilder canonical, FleetVersion version) => Append(
        canonical,
        version.Model,
        version.VersionId,
        version.Sha256,
        Number(version.SizeBytes),
        version.Storage.ToString(),
        version.Location ?? string.Empty,
        version.PublishedBy,
        Number(version.PublishedAt.ToUnixTimeMilliseconds()));

    // Each field length-prefixed: no value (a location with a newline, say) can pass for two fields.
    private static void Append(StringBuilder canonical, params ReadOnlySpan<string> fields)
    {
        foreach (string field in fields)
        {
            canonical.Append(CultureInfo.InvariantCulture, $"{field.Length}:{field}\n");
        }
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
