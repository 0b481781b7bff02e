using System.Collections.Concurrent;
using System.Threading.Channels;

namespace ModelCaching.Redis.Instance;

/// <summary>
/// What the agent's loop has been asked to do since it last woke: read every desired record, read some models' records
/// (a change was announced), stop a rollout a canary failed, write the membership entry. Asks from any thread (the multiplexer's, timers, loads) only set
/// a flag or queue a name and wake the loop; repeated asks fold into one round.
/// </summary>
internal sealed class FleetRequests
{
    private readonly ConcurrentQueue<string> _changed = new();
    private readonly ConcurrentQueue<RolloutStop> _stops = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private int _reconcileAll;
    private int _report;
    private int _members;

    /// <summary>Asks for every desired record to be read and the membership entry written.</summary>
    public void ReconcileAll()
    {
        Volatile.Write(ref _reconcileAll, 1);
        Volatile.Write(ref _report, 1);
        _wake.Writer.TryWrite(true);
    }

    /// <summary>Asks for the membership entry to be written.</summary>
    public void Report()
    {
        Volatile.Write(ref _report, 1);
        _wake.Writer.TryWrite(true);
    }

    /// <summary>Asks for the membership to be read (an instance joined or left).</summary>
    public void Members()
    {
        Volatile.Write(ref _members, 1);
        _wake.Writer.TryWrite(true);
    }

    /// <summary>Asks for one model's desired record to be read (a change was announced).</summary>
    public void Changed(string model)
    {
        _changed.Enqueue(model);
        _wake.Writer.TryWrite(true);
    }

    /// <summary>Asks for a staged rollout to be stopped (a canary failed on its version).</summary>
    public void Stop(RolloutStop stop)
    {
        _stops.Enqueue(stop);
        _wake.Writer.TryWrite(true);
    }

    /// <summary>
    /// Asks for a stop without waking the loop: the round that runs (it takes the stops after its reads) or the next one
    /// (a tick, a reconnect, a message) takes it. For a stop Redis did not take, a round asked for now would fail again at
    /// once, and ask again, while Redis refuses writes.
    /// </summary>
    public void StopLater(RolloutStop stop) => _stops.Enqueue(stop);

    /// <summary>Takes the rollouts to stop, each once (a stop kept for this round and the same one asked again are one).</summary>
    public IReadOnlyList<RolloutStop> TakeStops()
    {
        List<RolloutStop>? stops = null;
        while (_stops.TryDequeue(out RolloutStop? stop))
        {
            if (stops is null || !stops.Exists(s => s.Model == stop.Model && s.VersionId == stop.VersionId))
            {
                (stops ??= []).Add(stop);
            }
        }

        return stops ?? [];
    }

    /// <summary>Waits until something was asked; <see langword="false"/> when the loop should end.</summary>
    public async ValueTask<bool> WaitAsync(CancellationToken cancellationToken)
    {
        if (!await _wake.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        _wake.Reader.TryRead(out _);
        return true;
    }

    /// <summary>Takes what was asked for reading: everything, or the names whose change was announced.</summary>
    public (bool All, HashSet<string> Names) TakeReads()
    {
        bool all = Interlocked.Exchange(ref _reconcileAll, 0) == 1;
        var names = new HashSet<string>(StringComparer.Ordinal);
        while (_changed.TryDequeue(out string? name))
        {
            names.Add(name);
        }

        return (all, names);
    }

    /// <summary>Takes the ask for a membership entry.</summary>
    public bool TakeReport() => Interlocked.Exchange(ref _report, 0) == 1;

    /// <summary>Takes the ask for a membership read.</summary>
    public bool TakeMembers() => Interlocked.Exchange(ref _members, 0) == 1;
}

/// <summary>A canary's failure on <paramref name="VersionId"/> of <paramref name="Model"/>: its rollout stops, with <paramref name="Reason"/>.</summary>
internal sealed record RolloutStop(string Model, string VersionId, string Reason);
