using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace ModelCaching.Redis;

/// <summary>
/// The rules of staged rollouts, apart from Redis and timers: which version an instance serves, which instances are the
/// canaries, and how long an instance waits before a fleet-wide load. Everything is a pure function of instance id, model
/// and version, so every process (publisher, instance, test) reaches the same answer.
/// </summary>
internal static class Rollouts
{
    /// <summary>The version <paramref name="instanceId"/> should serve under <paramref name="desired"/>, or <see langword="null"/> for "keep what it has".</summary>
    public static FleetVersion? TargetFor(FleetDesiredVersion desired, string instanceId) => desired.Rollout switch
    {
        null or { Stage: FleetRolloutStage.Promoted } => desired.Version,
        { Stage: FleetRolloutStage.Canary } rollout when rollout.Canaries.Contains(instanceId, StringComparer.Ordinal) => desired.Version,
        { } rollout => rollout.Previous,
    };

    /// <summary>Whether <paramref name="instanceId"/> is a canary of a rollout at the canary stage.</summary>
    public static bool IsCanary(FleetDesiredVersion? desired, string instanceId) =>
        desired?.Rollout is { Stage: FleetRolloutStage.Canary } rollout && rollout.Canaries.Contains(instanceId, StringComparer.Ordinal);

    /// <summary>
    /// Whether an instance that must reload under <paramref name="desired"/> loads at once rather than after its share of
    /// the jitter. Under a rollout that is not promoted, only a few instances load: the canaries load its version, and the
    /// instances off <see cref="FleetRollout.Previous"/> go back to it (canaries of an aborted or stopped rollout, or of an
    /// earlier one), each moment serving a version taken back. The jitter spreads a move of the whole fleet.
    /// </summary>
    public static bool LoadsAtOnce(FleetDesiredVersion? desired) => desired?.Rollout is { Stage: not FleetRolloutStage.Promoted };

    /// <summary>The version the fleet at large serves under <paramref name="desired"/> (what a new rollout keeps the non-canaries on).</summary>
    public static FleetVersion? Stable(FleetDesiredVersion? desired) =>
        desired is null ? null
        : desired.Rollout is null or { Stage: FleetRolloutStage.Promoted } ? desired.Version
        : desired.Rollout.Previous;

    /// <summary>
    /// The canaries of a version: the <c>max(1, ceil(share × n))</c> instances with the highest rendezvous score for
    /// (instance, model, version). The choice does not depend on the order of <paramref name="instanceIds"/>, changes
    /// with each version (no instance is always the canary), and moves few instances when one joins or leaves.
    /// </summary>
    public static IReadOnlyList<string> ChooseCanaries(IEnumerable<string> instanceIds, string model, string versionId, double share)
    {
        string[] ids = [.. instanceIds.Distinct(StringComparer.Ordinal)];
        int count = Math.Clamp((int)Math.Ceiling(share * ids.Length), 1, ids.Length);
        return [.. ids.OrderByDescending(id => Score(id, model, versionId)).ThenBy(id => id, StringComparer.Ordinal).Take(count).Order(StringComparer.Ordinal)];
    }

    /// <summary>
    /// How long <paramref name="instanceId"/> waits before loading a version the whole fleet moves to: a fixed share of
    /// <paramref name="jitter"/>, from (instance, model, version), so instances spread over the window and a version's
    /// loads do not hit its source at once.
    /// </summary>
    public static TimeSpan LoadDelay(string instanceId, string model, string versionId, TimeSpan jitter) =>
        jitter <= TimeSpan.Zero ? TimeSpan.Zero : TimeSpan.FromTicks((long)(jitter.Ticks * Fraction(Score("load:" + instanceId, model, versionId))));

    // SHA-256 rather than string.GetHashCode: the same in every process and on every machine (the publisher picks the
    // canaries, the instances check them).
    private static ulong Score(string instanceId, string model, string versionId)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{instanceId}\n{model}\n{versionId}"), hash);
        return BinaryPrimitives.ReadUInt64BigEndian(hash);
    }

    private static double Fraction(ulong score) => (score >> 11) * (1.0 / (1UL << 53));
}
