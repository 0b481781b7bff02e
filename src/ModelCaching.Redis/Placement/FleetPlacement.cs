using System.Buffers;
using System.IO.Hashing;
using System.Text;

namespace ModelCaching.Redis;

/// <summary>
/// Which instances own a model name: rendezvous (highest-random-weight) hashing over the live membership. Each instance
/// scores the name with a hash of (instance id, name); the <c>replicas</c> highest scores own it. Every instance and
/// every router computes the same owners from the same membership with no coordination, and when an instance joins or
/// leaves only the names it gains or loses move (about 1/N of them).
/// </summary>
/// <remarks>
/// The hash is XxHash3 (System.IO.Hashing) with seed 0 over the UTF-8 of <c>{instance id}\n{name}</c>: stable across
/// processes, machines and releases, which placement needs (the runtime's string hash is randomized per process).
/// </remarks>
public static class FleetPlacement
{
    /// <summary>The owners of <paramref name="modelName"/> among <paramref name="instanceIds"/>, best first (at most <paramref name="replicas"/>).</summary>
    /// <param name="modelName">The model's name.</param>
    /// <param name="instanceIds">The live instances' ids (duplicates count once).</param>
    /// <param name="replicas">How many instances own each name (at least 1).</param>
    /// <returns>The owners' ids, the highest score first; all of <paramref name="instanceIds"/> when they are fewer than <paramref name="replicas"/>.</returns>
    public static IReadOnlyList<string> Owners(string modelName, IEnumerable<string> instanceIds, int replicas)
    {
        ArgumentNullException.ThrowIfNull(modelName);
        ArgumentNullException.ThrowIfNull(instanceIds);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);

        // A small sorted list beats a heap for the R (usually 2 or 3) best of N.
        var best = new List<(ulong Score, string Id)>(replicas + 1);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string id in instanceIds)
        {
            ArgumentNullException.ThrowIfNull(id, nameof(instanceIds));
            if (!seen.Add(id))
            {
                continue;
            }

            ulong score = Score(id, modelName);
            int at = best.Count;
            while (at > 0 && Before(score, id, best[at - 1]))
            {
                at--;
            }

            if (at < replicas)
            {
                best.Insert(at, (score, id));
                if (best.Count > replicas)
                {
                    best.RemoveAt(best.Count - 1);
                }
            }
        }

        return best.ConvertAll(static entry => entry.Id);
    }

    /// <summary>Whether <paramref name="instanceId"/> is one of the owners of <paramref name="modelName"/> among <paramref name="instanceIds"/>.</summary>
    public static bool IsOwner(string modelName, string instanceId, IEnumerable<string> instanceIds, int replicas)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        return Owners(modelName, instanceIds, replicas).Contains(instanceId, StringComparer.Ordinal);
    }

    /// <summary>
    /// Whether <paramref name="instanceId"/>, one of <paramref name="distinctIds"/> (no duplicates), is among the
    /// <paramref name="replicas"/> owners of <paramref name="modelName"/>: the same answer as <see cref="IsOwner"/>, without
    /// building the owners' list. It owns the name when fewer than <paramref name="replicas"/> other ids score before it.
    /// </summary>
    /// <remarks>
    /// An instance asks this for every placed name on each membership read (its handoff) and on each load: hashing
    /// alone, no allocation, where <see cref="Owners"/> allocates a list and a set per call.
    /// </remarks>
    internal static bool IsAmongOwners(string modelName, string instanceId, ReadOnlySpan<string> distinctIds, int replicas)
    {
        ulong mine = Score(instanceId, modelName);
        int ahead = 0;
        foreach (string id in distinctIds)
        {
            if (!string.Equals(id, instanceId, StringComparison.Ordinal) && Before(Score(id, modelName), id, (mine, instanceId)) && ++ahead >= replicas)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The score of <paramref name="modelName"/> on <paramref name="instanceId"/>: the higher, the sooner it owns it.</summary>
    public static ulong Score(string instanceId, string modelName)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        ArgumentNullException.ThrowIfNull(modelName);
        int length = Encoding.UTF8.GetMaxByteCount(instanceId.Length + 1 + modelName.Length);
        byte[]? rented = length > 512 ? ArrayPool<byte>.Shared.Rent(length) : null;
        Span<byte> buffer = rented ?? stackalloc byte[512];
        try
        {
            int written = Encoding.UTF8.GetBytes(instanceId, buffer);
            buffer[written++] = (byte)'\n';
            written += Encoding.UTF8.GetBytes(modelName, buffer[written..]);
            return XxHash3.HashToUInt64(buffer[..written]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    // Higher score first; equal scores (practically never) by ordinal id, so every reader agrees.
    private static bool Before(ulong score, string id, (ulong Score, string Id) other) =>
        score > other.Score || (score == other.Score && string.CompareOrdinal(id, other.Id) < 0);
}
