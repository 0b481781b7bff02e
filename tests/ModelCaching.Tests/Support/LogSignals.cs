using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ModelCaching.Tests.Reload;

/// <summary>
/// A logger factory that lets tests await log events by id (a load failure, a disposed generation) with a
/// bounded wait, instead of polling the cache.
/// </summary>
public sealed class LogSignals : ILoggerFactory, ILoggerProvider
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private readonly ConcurrentDictionary<int, int> _counts = new();
    private readonly List<(int EventId, int Count, TaskCompletionSource Signal)> _waiters = [];
    private readonly ConcurrentQueue<string> _messages = new();
    private readonly ConcurrentQueue<(int EventId, IReadOnlyDictionary<string, object?> Values)> _values = new();

    public IReadOnlyCollection<string> Messages => _messages;

    public int Count(int eventId) => _counts.GetValueOrDefault(eventId);

    /// <summary>The structured values (the message template's placeholders) of each event <paramref name="eventId"/>, in order.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, object?>> Values(int eventId) =>
        [.. _values.Where(entry => entry.EventId == eventId).Select(static entry => entry.Values)];

    /// <summary>Completes when event <paramref name="eventId"/> has been logged <paramref name="count"/> times in all.</summary>
    public Task WaitForAsync(int eventId, int count = 1)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waiters)
        {
            if (Count(eventId) >= count)
            {
                return Task.CompletedTask;
            }

            _waiters.Add((eventId, count, signal));
        }

        return signal.Task.WaitAsync(Timeout);
    }

    public ILogger CreateLogger(string categoryName) => new SignalLogger(this);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private void Record(int eventId, string message, IReadOnlyDictionary<string, object?> values)
    {
        _messages.Enqueue($"{eventId}: {message}");
        _values.Enqueue((eventId, values));
        lock (_waiters)
        {
            int count = _counts.AddOrUpdate(eventId, 1, static (_, c) => c + 1);
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].EventId == eventId && count >= _waiters[i].Count)
                {
                    _waiters[i].Signal.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    private sealed class SignalLogger(LogSignals owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Record(
                eventId.Id,
                formatter(state, exception) + (exception is null ? string.Empty : " | " + exception.Message),
                state is IEnumerable<KeyValuePair<string, object?>> pairs ? pairs.ToDictionary(static p => p.Key, static p => p.Value) : new Dictionary<string, object?>());
    }
}
