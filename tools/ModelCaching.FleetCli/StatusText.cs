using System.Globalization;
using System.Text;

namespace ModelCaching.FleetCli;

/// <summary>The fleet's status as text for a terminal: per model, the desired version, its rollout, who serves what and who failed.</summary>
internal static class StatusText
{
    public static string Format(FleetStatus status)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"fleet '{status.FleetName}': {status.Members.Count} live instance(s)\n");
        if (status.Models.Count == 0)
        {
            text.Append("no model is published or reported\n");
        }

        foreach (FleetModelStatus model in status.Models)
        {
            text.Append(CultureInfo.InvariantCulture, $"\n{model.Name}\n");
            if (model.Desired is not { } desired)
            {
                text.Append("  desired:  nothing published\n");
            }
            else
            {
                text.Append(CultureInfo.InvariantCulture, $"  desired:  {desired.Version.VersionId} ({desired.Action.ToString().ToLowerInvariant()} by {desired.ChangedBy} at {desired.ChangedAt:u}{(desired.Pinned ? ", pinned" : string.Empty)}, revision {desired.Revision}{(desired.Signature is null ? string.Empty : ", signed")})\n");
                if (desired.Rollout is { } rollout)
                {
                    text.Append(CultureInfo.InvariantCulture, $"  rollout:  {rollout.Stage.ToString().ToLowerInvariant()}, canaries {string.Join(", ", rollout.Canaries)}; the others on {rollout.Previous?.VersionId ?? "what they have"}\n");
                    if (rollout.Reason is { } reason)
                    {
                        text.Append(CultureInfo.InvariantCulture, $"  why:      {reason}\n");
                    }
                }

                if (desired.Withdrawn.Count > 0)
                {
                    text.Append(CultureInfo.InvariantCulture, $"  withdrawn: {string.Join(", ", desired.Withdrawn)} (unpin and rollback skip them)\n");
                }
            }

            string serving = model.Serving.Count == 0 ? "nothing" : string.Join(", ", model.Serving.Select(s => $"{s.VersionId} on {s.Instances}"));
            text.Append(CultureInfo.InvariantCulture, $"  serving:  {serving} (of {model.Instances} instance(s))\n");
            foreach (FleetMemberFailure failure in model.Failures)
            {
                text.Append(CultureInfo.InvariantCulture, $"  failed:   {failure.InstanceId} on {failure.VersionId ?? "?"}: {failure.Error}\n");
            }
        }

        return text.ToString();
    }
}
