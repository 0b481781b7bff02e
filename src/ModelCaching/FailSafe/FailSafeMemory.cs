using System.Diagnostics.CodeAnalysis;

namespace ModelCaching.FailSafe;

/// <summary>
/// What a <see cref="FailSafePolicy"/> remembers once a load has failed or content has served, made then (a model that
/// never failed holds none of it). Only its policy holds it and locks it while it reads or changes it (so nothing else
/// takes that lock), but for the failure streak, counted with interlocked operations, and the failure a dropped model
/// answers with.
/// </summary>
internal sealed class FailSafeMemory
{
    public List<(string Hash, string Cause)>? Rejected;
    public List<string>? RolledBack; // The rejected hashes a rollback went back from (held back from explicit reloads too).
    public List<string>? Served;
    public ModelLoadException? LastFailure;
    public long RetryNotBefore;

    // Failures in a row since the last success (Interlocked, outside the lock).
    public int ConsecutiveFailures;

    // The failure a template's model was dropped with (volatile, outside the lock; set once).
    public ModelLoadException? DroppedFailure;

    public void Reject(string hash, string cause)
    {
        if (IsRejected(hash, out _))
        {
            return;
        }

        List<(string Hash, string Cause)> rejected = Rejected ??= new(capacity: 1);
        if (rejected.Count == FailSafePolicy.RejectedHashLimit)
        {
            rejected.RemoveAt(0);
        }

        rejected.Add((hash, cause));
    }

    public bool IsRejected(string hash, [NotNullWhen(true)] out string? cause)
    {
        if (Rejected is not null)
        {
            foreach ((string rejected, string why) in Rejected)
            {
                if (rejected == hash)
                {
                    cause = why;
                    return true;
                }
            }
        }

        cause = null;
        return false;
    }
}
