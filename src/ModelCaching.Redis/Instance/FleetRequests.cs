using System.Collections.Concurrent;
using System.Threading.Channels;

namespace ModelCaching.Redis.Instance;

/// <summary>
/// What the agent's loop has been asked to do since it last woke: read every desired record, read some models' records
/// (a change was announced), write the membership entry. Asks from any thread (the multiplexer's, timers, loads) only set
/// a flag or queue a name and wake the loop; repeated asks fold into one round.
/// </summary>
internal sealed class FleetRequests
{
    private readonly ConcurrentQueue<string> _changed = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private int _reconcileAll;
    private int _report;

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

    /// <summary>Asks for one model's desired record to be read (a change was announced).</summary>
    public void Changed(string model)
    {
        _changed.Enqueue(model);
        _wake.Writer.TryWrite(true);
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
}
