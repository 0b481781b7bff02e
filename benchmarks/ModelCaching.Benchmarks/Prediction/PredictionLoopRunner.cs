namespace ModelCaching.Benchmarks.Prediction;

/// <summary>
/// Runs one loop on each of N threads at once and returns when all are done. Helper threads are started once
/// and parked on a barrier between runs, so a run costs two barrier phases, not thread start-ups.
/// </summary>
/// <remarks>
/// Hand-written rather than <c>Parallel.Invoke</c>: the thread pool may run both loops on one thread when it is
/// busy, which would hide the contention being measured.
/// </remarks>
internal sealed class PredictionLoopRunner : IDisposable
{
    private readonly Barrier _start;
    private readonly Barrier _end;
    private readonly Thread[] _helpers;
    private volatile Action<int>? _loop;
    private volatile bool _stopping;

    public PredictionLoopRunner(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Threads = threads;
        _start = new Barrier(threads);
        _end = new Barrier(threads);
        _helpers = new Thread[threads - 1];
        for (int i = 0; i < _helpers.Length; i++)
        {
            int index = i + 1;
            _helpers[i] = new Thread(() => HelperLoop(index)) { IsBackground = true, Name = $"predict-loop-{index}" };
            _helpers[i].Start();
        }
    }

    public int Threads { get; }

    /// <summary>Runs <paramref name="loop"/>(thread index) on every thread at once.</summary>
    public void Run(Action<int> loop)
    {
        if (Threads == 1)
        {
            loop(0);
            return;
        }

        _loop = loop;
        _start.SignalAndWait();
        loop(0);
        _end.SignalAndWait();
    }

    public void Dispose()
    {
        _stopping = true;
        if (Threads > 1)
        {
            _start.SignalAndWait();
        }

        foreach (Thread helper in _helpers)
        {
            helper.Join();
        }

        _start.Dispose();
        _end.Dispose();
    }

    private void HelperLoop(int index)
    {
        while (true)
        {
            _start.SignalAndWait();
            if (_stopping)
            {
                return;
            }

            _loop!(index);
            _end.SignalAndWait();
        }
    }
}
