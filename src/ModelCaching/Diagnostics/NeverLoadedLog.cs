using Microsoft.Extensions.Logging;

namespace ModelCaching.Diagnostics;

/// <summary>
/// The log of a template's models whose first load failed (a name nobody published, made up by a client): at most
/// one line per <see cref="Interval"/> per template, on the injected clock, and that line counts the failures that
/// were not logged since the previous one. Names made up by clients cannot grow the log without bound.
/// </summary>
/// <remarks>
/// Hand-written rather than a logging sampler (Microsoft.Extensions.Telemetry's samplers are chosen by the application,
/// drop lines at random and do not count what they dropped): this bound is the library's promise, whatever the host's
/// logging setup, and the count of suppressed failures is what an operator needs to see an attack or a typo storm.
/// </remarks>
internal sealed class NeverLoadedLog(ILogger logger, TimeProvider timeProvider, string templateName)
{
    /// <summary>The shortest time between two lines of one template: 10 seconds.</summary>
    internal static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private long _nextLineAt = long.MinValue;
    private long _suppressed;

    /// <summary>The first load of <paramref name="modelName"/> failed with <paramref name="failure"/> and the name is not kept.</summary>
    public void Failed(string modelName, string source, ModelLoadException failure)
    {
        if (!logger.IsEnabled(LogLevel.Warning))
        {
            return;
        }

        long suppressed;
        lock (_gate)
        {
            long now = timeProvider.GetTimestamp();
            if (now < _nextLineAt)
            {
                _suppressed++;
                return;
            }

            _nextLineAt = now + (long)(Interval.TotalSeconds * timeProvider.TimestampFrequency);
            suppressed = _suppressed;
            _suppressed = 0;
        }

        Log.TemplateModelNotLoaded(logger, failure, ModelNames.Shorten(modelName), templateName, source, failure.Cause, suppressed, Interval);
    }
}
