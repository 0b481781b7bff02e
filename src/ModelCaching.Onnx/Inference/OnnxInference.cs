using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Microsoft.ML.OnnxRuntime;

namespace ModelCaching.Onnx;

/// <summary>
/// One rental of a pooled <see cref="OnnxRunner"/>, and the lease that pins its model generation: the session cannot be
/// disposed while the inference lives, even when a reload swaps the model. A struct so that renting allocates nothing.
/// Write every input (<see cref="SetInput{T}"/>, <see cref="Input{T}"/>, <see cref="SetString(string, ReadOnlySpan{char})"/>),
/// <see cref="Run"/>, read the outputs (<see cref="Output{T}"/>), and dispose it once (a <see langword="using"/> statement does).
/// </summary>
/// <remarks>
/// Every member checks that this rental is still the runner's: after <see cref="Dispose"/> (on this value or on any copy
/// of it) they throw <see cref="ObjectDisposedException"/>, and never reach a runner that serves another caller by
/// then or whose generation is gone. A second <see cref="Dispose"/>, on a copy or from another thread, does nothing.
/// Like any disposable, an inference is used by one thread at a time: a member running while another thread disposes
/// the same rental is not supported.
/// </remarks>
public readonly struct OnnxInference : IDisposable
{
    private readonly ModelLease<OnnxModel> _lease;
    private readonly OnnxRunner? _runner;
    private readonly long _rental;

    internal OnnxInference(ModelLease<OnnxModel> lease, OnnxRunner runner, long rental)
    {
        _lease = lease;
        _runner = runner;
        _rental = rental;
    }

    /// <summary>The version of the pinned model generation.</summary>
    /// <exception cref="ObjectDisposedException">This rental ended.</exception>
    public ModelVersion Version
    {
        get
        {
            _ = Rented();
            return _lease.Version;
        }
    }

    /// <summary>The shared session of the pinned generation, for what the typed API does not cover. Do not dispose it.</summary>
    /// <exception cref="ObjectDisposedException">This rental ended.</exception>
    public InferenceSession Session => Rented().Session;

    /// <summary>The runner of this rental, whether or not the rental still holds it: for tests of which runner is which.</summary>
    internal OnnxRunner? HeldRunner => _runner;

    /// <summary>
    /// The pinned elements of the numeric input <paramref name="name"/>, to write before <see cref="Run"/>. The first call
    /// of a rental clears them (the previous caller's values are never seen) and marks the input written.
    /// Prefer <see cref="SetInput{T}"/>, which also checks the length.
    /// </summary>
    /// <typeparam name="T">The element type: <see cref="float"/> for Float, <see cref="long"/> for Int64, and so on.</typeparam>
    /// <exception cref="ObjectDisposedException">This rental ended.</exception>
    /// <exception cref="KeyNotFoundException">The model has no such input.</exception>
    /// <exception cref="InvalidOperationException"><typeparamref name="T"/> is not the input's element type.</exception>
    public Span<T> Input<T>(string name)
        where T : unmanaged => Rented().Input<T>(name, _rental);

    /// <summary>Copies <paramref name="values"/> into the numeric input <paramref name="name"/>, which must take exactly that many.</summary>
    /// <typeparam name="T">The element type: <see cref="float"/> for Float, <see cref="long"/> for Int64, and so on.</typeparam>
    /// <exception cref="ObjectDisposedException">This rental ended.</exception>
    /// <exception cref="ArgumentException"><paramref name="values"/> is shorter or longer than the input (the message names the input and both lengths).</exception>
    /// <exception cref="KeyNotFoundException">The model has no such input.</exception>
    /// <exception cref="InvalidOperationException"><typeparamref name="T"/> is not the input's element type.</exception>
    public void SetInput<T>(string name, ReadOnlySpan<T> values)
        where T : unmanaged => Rented().SetInput(name, values, _rental);

    /// <summary>Sets the first element of the string input <paramref name="name"/> (UTF-8 in native memory; no managed allocation).</summary>
    /// <exception cref="ObjectDisposedException">This rental ended.</exception>
    /// <exception cref="KeyNotFoundException">The model has no such input.</exception>
    /// <exception cref="InvalidOperationException">The input is not a string tensor.</exception>
    public void SetString(string name, ReadOnlySpan<char> value) => Rented().SetString(name, 0, value, _rental);

    /// <summary>
    /// Sets element <paramref name="index"/> of the string input <paramref name="name"/>. The first write of a rental to
    /// a tensor of several strings empties the others first.
    /// </summary>
    /// <exception cref="ObjectDisposedException">This rental ended.</exception>
    /// <exception cref="KeyNotFoundException">The model has no such input.</exception>
    /// <exception cref="InvalidOperationException">The input is not a string tensor.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside the tensor (the input stays unwritten).</exception>
    public void SetString(string name, int index, ReadOnlySpan<char> value) => Rented().SetString(name, index, value, _rental);

    /// <summary>Runs the session on this rental's inputs; the outputs are written in place.</summary>
    /// <exception cref="ObjectDisposedException">This rental ended.</exception>
    /// <exception cref="InvalidOperationException">An input was not written since <c>Rent()</c> (the message names it).</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime failed (a shape that does not fit the model, say).</exception>
    public void Run() => Rented().Run(_rental);

    /// <summary>The elements of the output <paramref name="name"/> after this rental's <see cref="Run"/>; valid until disposal.</summary>
    /// <typeparam name="T">The element type: <see cref="float"/> for Float, <see cref="uint"/> for UInt32, and so on.</typeparam>
    /// <exception cref="ObjectDisposedException">This rental ended.</exception>
    /// <exception cref="KeyNotFoundException">The runner does not compute such an output (see <see cref="OnnxRuntimeOptions.Outputs"/>).</exception>
    /// <exception cref="InvalidOperationException"><typeparamref name="T"/> is not the output's element type, or <see cref="Run"/> has not run in this rental.</exception>
    public ReadOnlySpan<T> Output<T>(string name)
        where T : unmanaged => Rented().Output<T>(name, _rental);

    /// <summary>Returns the runner to its generation's pool, then ends the lease. Only the first call of a rental does anything.</summary>
    public void Dispose()
    {
        OnnxRunner? runner = _runner;
        if (runner is not null && runner.EndRental(_rental))
        {
            // The runner goes back before the lease ends, so a generation is never disposed with a runner still out.
            runner.Model.ReturnRunner(runner);
            _lease.Dispose();
        }
    }

    // One null check and one read of the runner's rental per member: the cost is measured in docs/benchmarks.md.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private OnnxRunner Rented()
    {
        OnnxRunner? runner = _runner;
        if (runner is null || !runner.IsRentedBy(_rental))
        {
            ThrowNotRented();
        }

        return runner;
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowNotRented()
    {
        if (_runner is null)
        {
            throw new InvalidOperationException("This OnnxInference is default: it holds no runner. Rent one with IModelCache<OnnxModel>.Rent().");
        }

        throw new ObjectDisposedException(nameof(OnnxInference), "This OnnxInference's rental ended: it was disposed (this value or a copy of it), and its runner may serve another caller now. Rent a new one with cache.Rent() for each request.");
    }
}
