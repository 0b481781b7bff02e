using System.Numerics;
using System.Runtime.CompilerServices;
using Microsoft.ML.OnnxRuntime;
using ModelCaching.Onnx.Inference;

namespace ModelCaching.Onnx;

/// <summary>
/// One loaded generation of an ONNX model: a single <see cref="InferenceSession"/> shared by every caller
/// (<see cref="InferenceSession.Run(RunOptions, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue}, IReadOnlyCollection{string})"/>
/// is thread-safe), its signature, and a pool of <see cref="OnnxRunner"/>s with reusable buffers. The cache disposes it
/// after its last lease ends; use it under a lease (<c>cache.Acquire()</c> or <see cref="OnnxModelCacheExtensions.Rent"/>).
/// </summary>
public sealed class OnnxModel : IDisposable
{
    private readonly OnnxRunnerLayout _layout;
    private readonly PaddedRunnerSlot[] _slots;
    private readonly int _mask;
    private int _disposed;
    private int _disposeCalls;

    internal OnnxModel(string name, InferenceSession session, OnnxSignature signature, OnnxRunnerLayout layout, long artifactBytes)
    {
        Name = name;
        Session = session;
        Signature = signature;
        _layout = layout;

        // Per-core slots, as ModelCaching.ML's engine pool: a caller takes the runner of the core it runs on, so two
        // threads rarely touch the same slot. Runners beyond the slots are made on demand and released on return.
        int slots = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(2, Environment.ProcessorCount * 2));
        _slots = new PaddedRunnerSlot[slots];
        _mask = slots - 1;

        // ONNX Runtime has no API for a session's native memory. Its initializers (the weights, nearly all of a
        // model's size) are copied into session-owned buffers, so the file size is the honest first-order estimate;
        // the pinned buffers of the runners come on top (counted for one runner per core, the steady state).
        EstimatedSizeBytes = artifactBytes + (layout.UnsupportedReason is null ? EstimateRunnerBytes(layout) * Environment.ProcessorCount : 0);
    }

    /// <summary>The model's name in the cache.</summary>
    public string Name { get; }

    /// <summary>The shared session. Do not dispose it: its generation does, after the last lease.</summary>
    public InferenceSession Session { get; }

    /// <summary>The session's inputs and outputs.</summary>
    public OnnxSignature Signature { get; }

    /// <summary>
    /// The estimated memory of the generation in bytes, reported as the model's size (<see cref="ModelVersion.SizeBytes"/>):
    /// the model file (ONNX Runtime copies its weights into the session; it offers no API for the session's native
    /// memory) plus the typed API's pinned buffers.
    /// </summary>
    public long EstimatedSizeBytes { get; }

    /// <summary>Whether the session was disposed.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>How many times <see cref="Dispose"/> was called (tests check that the cache calls it exactly once).</summary>
    internal int DisposeCalls => Volatile.Read(ref _disposeCalls);

    /// <summary>Disposes the pooled runners, then the session. Idempotent; the cache calls it after the last lease ends.</summary>
    public void Dispose()
    {
        Interlocked.Increment(ref _disposeCalls);
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        for (int i = 0; i < _slots.Length; i++)
        {
            Interlocked.Exchange(ref _slots[i].Runner, null)?.Release();
        }

        Session.Dispose();
    }

    /// <summary>Takes a runner from this core's slot, or any slot, or makes one.</summary>
    internal OnnxRunner RentRunner()
    {
        int start = Thread.GetCurrentProcessorId() & _mask;
        OnnxRunner? runner = Interlocked.Exchange(ref _slots[start].Runner, null);
        return runner ?? RentSlow(start);
    }

    /// <summary>Puts a runner back in this core's slot, or any free slot, or releases it when the pool is full.</summary>
    internal void ReturnRunner(OnnxRunner runner)
    {
        // A lease outlives its runner, so a disposed generation gets no runner back; the check costs one read.
        int start = Thread.GetCurrentProcessorId() & _mask;
        if (IsDisposed || Interlocked.CompareExchange(ref _slots[start].Runner, runner, null) is not null)
        {
            ReturnSlow(runner, start);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private OnnxRunner RentSlow(int start)
    {
        for (int i = 1; i < _slots.Length; i++)
        {
            if (Interlocked.Exchange(ref _slots[(start + i) & _mask].Runner, null) is { } runner)
            {
                return runner;
            }
        }

        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (_layout.UnsupportedReason is { } reason)
        {
            throw new NotSupportedException($"Model '{Name}': the typed API cannot run this model: {reason}. Use the session directly (lease.Model.Session) and turn OnnxRuntimeOptions.WarmUp off.");
        }

        return new OnnxRunner(this, _layout);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReturnSlow(OnnxRunner runner, int start)
    {
        if (IsDisposed)
        {
            runner.Release();
            return;
        }

        for (int i = 1; i < _slots.Length; i++)
        {
            if (Interlocked.CompareExchange(ref _slots[(start + i) & _mask].Runner, runner, null) is null)
            {
                return;
            }
        }

        runner.Release();
    }

    private static long EstimateRunnerBytes(OnnxRunnerLayout layout)
    {
        long bytes = 0;
        foreach (OnnxTensorLayout tensor in layout.Inputs)
        {
            bytes += tensor.ElementCount * 8;
        }

        foreach (OnnxTensorLayout tensor in layout.Outputs)
        {
            bytes += tensor.ElementCount * 8;
        }

        return bytes;
    }
}
