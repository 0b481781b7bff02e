using System.Collections;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ModelCaching.AspNetCore;

/// <summary>Names and a JSON response writer for the health endpoints <c>MapModelCacheHealthChecks</c> maps.</summary>
public static class ModelCacheHealthChecks
{
    /// <summary>
    /// The tag of the checks the readiness endpoint runs: <c>ready</c>. Tag the model checks with it:
    /// <c>services.AddHealthChecks().AddModelCache(tags: [ModelCacheHealthChecks.ReadyTag])</c>.
    /// </summary>
    public const string ReadyTag = "ready";

    /// <summary>
    /// The tag of the checks the liveness endpoint runs: <c>live</c>. Liveness should fail only when the process
    /// must be restarted, so model checks do not belong here: a model that fails to load is a readiness problem.
    /// </summary>
    public const string LiveTag = "live";

    /// <summary>
    /// Writes a health report as JSON: the overall status, and each check's status, description, duration and data.
    /// </summary>
    /// <remarks>
    /// Written with <see cref="Utf8JsonWriter"/> rather than a serializer so that it needs no reflection
    /// (it works in trimmed and AOT-compiled hosts); check data is written for the value types health
    /// checks use (text, numbers, booleans, times, dictionaries and lists) and as text otherwise.
    /// </remarks>
    public static async Task WriteJsonResponse(HttpContext context, HealthReport report)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(report);

        context.Response.ContentType = "application/json; charset=utf-8";
        await using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
        writer.WriteStartObject();
        writer.WriteString("status", report.Status.ToString());
        writer.WriteNumber("totalDurationMs", Math.Round(report.TotalDuration.TotalMilliseconds, 3));
        writer.WriteStartObject("checks");
        foreach ((string name, HealthReportEntry entry) in report.Entries)
        {
            writer.WriteStartObject(name);
            writer.WriteString("status", entry.Status.ToString());
            writer.WriteString("description", entry.Description);
            writer.WriteNumber("durationMs", Math.Round(entry.Duration.TotalMilliseconds, 3));
            if (entry.Exception is not null)
            {
                writer.WriteString("error", entry.Exception.Message);
            }

            writer.WritePropertyName("data");
            WriteValue(writer, entry.Data);
            writer.WriteStartArray("tags");
            foreach (string tag in entry.Tags)
            {
                writer.WriteStringValue(tag);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
        await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    private static void WriteValue(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case string text:
                writer.WriteStringValue(text);
                break;
            case bool flag:
                writer.WriteBooleanValue(flag);
                break;
            case int or long or short or byte or uint or ulong or ushort or sbyte:
                writer.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture));
                break;
            case float or double or decimal:
                writer.WriteNumberValue(Convert.ToDouble(value, CultureInfo.InvariantCulture));
                break;
            case DateTimeOffset time:
                writer.WriteStringValue(time);
                break;
            case DateTime time:
                writer.WriteStringValue(time);
                break;
            case TimeSpan span:
                writer.WriteStringValue(span.ToString("c", CultureInfo.InvariantCulture));
                break;
            case IEnumerable<KeyValuePair<string, object>> pairs:
                WriteObject(writer, pairs);
                break;
            case IEnumerable items:
                writer.WriteStartArray();
                foreach (object? item in items)
                {
                    WriteValue(writer, item);
                }

                writer.WriteEndArray();
                break;
            default:
                writer.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    private static void WriteObject(Utf8JsonWriter writer, IEnumerable<KeyValuePair<string, object>> pairs)
    {
        writer.WriteStartObject();
        foreach ((string key, object? item) in pairs)
        {
            writer.WritePropertyName(key);
            WriteValue(writer, item);
        }

        writer.WriteEndObject();
    }
}
