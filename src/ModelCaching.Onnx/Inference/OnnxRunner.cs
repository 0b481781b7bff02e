using System.Runtime.CompilerServices;
using Microsoft.ML.OnnxRuntime;
using ModelCaching.Onnx.Inference;

namespace ModelCaching.Onnx;

/// <summary>
/// Runs one session with reused inputs and outputs: each numeric tensor is a managed array pinned once and bound to
/// the session (ONNX Runtime reads and writes it in place), so a run copies nothing and allocates nothing. Runners are
/// pooled per model generation and used by one caller at a time, through the <see cref="OnnxInference"/> that
/// <see cref="OnnxModelCacheExtensions.Rent"/> returns. Its public members serve only
/// <see cref="OnnxRuntimeOptions.WarmUpInputs"/>, during that call; anywhere else they throw
/// <see cref="ObjectDisposedException"/>.
/// </summary>
/// <remarks>
/// Each rental has a token. An <see cref="OnnxInference"/> (and every copy of it) carries its token and is served only
/// while the runner's <see cref="_activeRental"/> is that token: after its Dispose, or once the runner serves another
/// caller, or once its generation released the runner's native buffers, it throws instead of reaching them. Inputs
/// record the rental that wrote them, so a run never reads a value a previous caller left, and outputs are readable
/// only after the rental's own run.
/// </remarks>
public sealed class OnnxRunner
{
    private readonly OnnxModel _model;
    private readonly RunOptions _runOptions;
    private readonly OrtIoBinding _binding;
    private readonly OnnxTensorBuffer[] _inputs;
    private readonly OnnxTensorBuffer[] _outputs;

    // 64-bit tokens: a stale copy could only be mistaken for a later rental after 2^63 rentals of this runner.
    private long _rentals;
    private long _activeRental;
    private long _ranInRental;
    private long _warmUpRental;

    internal OnnxRunner(OnnxModel model, OnnxRunnerLayout layout)
    {
        _model = model;
        var inputs = new List<OnnxTensorBuffer>();
        var outputs = new List<OnnxTensorBuffer>();
        OrtIoBinding? binding = null;
        RunOptions? runOptions = null;
        try
        {
            foreach (OnnxTensorLayout input in layout.Inputs)
            {
                inputs.Add(OnnxTensorBuffer.Create(input));
            }

            foreach (OnnxTensorLayout output in layout.Outputs)
            {
                outputs.Add(OnnxTensorBuffer.Create(output));
            }

            runOptions = new RunOptions();
            binding = model.Session.CreateIoBinding();
            foreach (OnnxTensorBuffer input in inputs)
            {
                binding.BindInput(input.Name, input.Value);
            }

            foreach (OnnxTensorBuffer output in outputs)
            {
                binding.BindOutput(output.Name, output.Value);
            }
        }
        catch
        {
            binding?.Dispose();
            runOptions?.Dispose();
            inputs.ForEach(static b => b.Dispose());
            outputs.ForEach(static b => b.Dispose());
            throw;
        }

        _binding = binding;
        _runOptions = runOptions;
        _inputs = [.. inputs];
        _outputs = [.. outputs];
    }

    /// <summary>The model generation this runner belongs to.</summary>
    public OnnxModel Model => _model;

    /// <summary>The session, for what the typed API does not cover. Do not dispose it: its generation does.</summary>
    public InferenceSession Session => _model.Session;

    /// <summary>
    /// The pinned elements of the numeric input <paramref name="name"/>, to write before <see cref="Run()"/>. The first
    /// call in a warm-up marks the input written; see <see cref="OnnxInference.Input{T}"/>.
    /// </summary>
    /// <typeparam name="T">The element type: <see cref="float"/> for Float, <see cref="long"/> for Int64, and so on.</typeparam>
    /// <exception cref="ObjectDisposedException">Called outside <see cref="OnnxRuntimeOptions.WarmUpInputs"/>.</exception>
    /// <exception cref="KeyNotFoundException">The model has no such input.</exception>
    /// <exception cref="InvalidOperationException"><typeparamref name="T"/> is not the input's element type.</exception>
    public Span<T> Input<T>(string name)
        where T : unmanaged => Input<T>(name, WarmUpRental());

    /// <summary>Copies <paramref name="values"/> into the numeric input <paramref name="name"/>; see <see cref="OnnxInference.SetInput{T}"/>.</summary>
    /// <exception cref="ObjectDisposedException">Called outside <see cref="OnnxRuntimeOptions.WarmUpInputs"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="values"/> is not exactly as long as the input.</exception>
    public void SetInput<T>(string name, ReadOnlySpan<T> values)
        where T : unmanaged => SetInput(name, values, WarmUpRental());

    /// <summary>The elements of the output <paramref name="name"/> after <see cref="Run()"/>.</summary>
    /// <typeparam name="T">The element type: <see cref="float"/> for Float, <see cref="uint"/> for UInt32, and so on.</typeparam>
    /// <exception cref="ObjectDisposedException">Called outside <see cref="OnnxRuntimeOptions.WarmUpInputs"/>.</exception>
    /// <exception cref="KeyNotFoundException">The runner does not compute such an output (see <see cref="OnnxRuntimeOptions.Outputs"/>).</exception>
    /// <exception cref="InvalidOperationException"><typeparamref name="T"/> is not the output's element type, or <see cref="Run()"/> has not run.</exception>
    public ReadOnlySpan<T> Output<T>(string name)
        where T : unmanaged => Output<T>(name, WarmUpRental());

    /// <summary>Sets the first element of the string input <paramref name="name"/> (UTF-8 in native memory; no managed allocation).</summary>
    /// <exception cref="ObjectDisposedException">Called outside <see cref="OnnxRuntimeOptions.WarmUpInputs"/>.</exception>
    public void SetString(string name, ReadOnlySpan<char> value) => SetString(name, 0, value, WarmUpRental());

    /// <summary>Sets element <paramref name="index"/> of the string input <paramref name="name"/>.</summary>
    /// <exception cref="ObjectDisposedException">Called outside <see cref="OnnxRuntimeOptions.WarmUpInputs"/>.</exception>
    /// <exception cref="KeyNotFoundException">The model has no such input.</exception>
    /// <exception cref="InvalidOperationException">The input is not a string tensor.</exception>
    public void SetString(string name, int index, ReadOnlySpan<char> value) => SetString(name, index, value, WarmUpRental());

    /// <summary>Runs the session on the current inputs; the outputs are written in place.</summary>
    /// <exception cref="ObjectDisposedException">Called outside <see cref="OnnxRuntimeOptions.WarmUpInputs"/>.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime failed (a shape that does not fit the model, say).</exception>
    public void Run() => Run(WarmUpRental());

    /// <summary>Starts a rental: the caller took this runner from the pool, so it is the only one writing here.</summary>
    internal long BeginRental()
    {
        long rental = ++_rentals;
        Volatile.Write(ref _activeRental, rental);
        return rental;
    }

    /// <summary>Ends <paramref name="rental"/> if it is still the active one: of two Dispose calls on copies, exactly one wins.</summary>
    internal bool EndRental(long rental) => Interlocked.CompareExchange(ref _activeRental, 0, rental) == rental;

    /// <summary>Whether <paramref name="rental"/> is the rental this runner serves now.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool IsRentedBy(long rental) => rental != 0 && Volatile.Read(ref _activeRental) == rental;

    /// <summary>
    /// Lends the runner to the warm-up: its public members work until <see cref="EndWarmUp"/>. The runner is new, so its
    /// inputs are zeros and empty strings; they count as written, so a warm-up without a sample runs on them.
    /// </summary>
    internal long BeginWarmUp()
    {
        long rental = BeginRental();
        foreach (OnnxTensorBuffer input in _inputs)
        {
            input.WrittenIn = rental;
        }

        _warmUpRental = rental;
        return rental;
    }

    internal void EndWarmUp(long rental)
    {
        _warmUpRental = 0;
        EndRental(rental);
    }

    internal Span<T> Input<T>(string name, long rental)
        where T : unmanaged
    {
        OnnxTensorBuffer buffer = Numeric<T>(name);
        Span<T> data = Unsafe.As<T[]>(buffer.Data!);
        if (buffer.WrittenIn != rental)
        {
            // The first span of a rental starts cleared: a caller who writes fewer values than the input holds reads
            // zeros after them, never the previous caller's values. A few elements for a typical request.
            data.Clear();
            buffer.WrittenIn = rental;
        }

        return data;
    }

    internal void SetInput<T>(string name, ReadOnlySpan<T> values, long rental)
        where T : unmanaged
    {
        OnnxTensorBuffer buffer = Numeric<T>(name);
        T[] data = Unsafe.As<T[]>(buffer.Data!);
        if (values.Length != data.Length)
        {
            ThrowWrongLength(buffer, values.Length);
        }

        values.CopyTo(data);
        buffer.WrittenIn = rental;
    }

    internal void SetString(string name, int index, ReadOnlySpan<char> value, long rental)
    {
        OnnxTensorBuffer buffer = Find(_inputs, name, "input");
        if (buffer.ClrType is not null)
        {
            ThrowWrongType(buffer, typeof(string), "input");
        }

        if ((ulong)index >= (ulong)buffer.ElementCount)
        {
            ThrowIndexOutOfRange(buffer, index);
        }

        if (buffer.WrittenIn != rental && buffer.ElementCount > 1)
        {
            ClearStrings(buffer);
        }

        // Written only once the value is in: a write that fails leaves the input unwritten, so Run() refuses to run on
        // the previous caller's string.
        buffer.Value.StringTensorSetElementAt(value, index);
        buffer.WrittenIn = rental;
    }

    internal void Run(long rental)
    {
        foreach (OnnxTensorBuffer input in _inputs)
        {
            if (input.WrittenIn != rental)
            {
                ThrowNotWritten(input);
            }
        }

        _model.Session.RunWithBinding(_runOptions, _binding);
        _ranInRental = rental;
    }

    internal ReadOnlySpan<T> Output<T>(string name, long rental)
        where T : unmanaged
    {
        OnnxTensorBuffer buffer = Find(_outputs, name, "output");
        if (buffer.ClrType != typeof(T))
        {
            ThrowWrongType(buffer, typeof(T), "output");
        }

        if (_ranInRental != rental)
        {
            ThrowNotRun(buffer);
        }

        return Unsafe.As<T[]>(buffer.Data!);
    }

    /// <summary>The output buffer as the last run left it, whoever ran it: for tests of the warm-up.</summary>
    internal ReadOnlySpan<T> LastOutput<T>(string name)
        where T : unmanaged => Unsafe.As<T[]>(Find(_outputs, name, "output").Data!);

    /// <summary>Asks ONNX Runtime to stop the run in progress (a warm-up past the load timeout); the runner is not used again.</summary>
    internal void Terminate() => _runOptions.Terminate = true;

    /// <summary>Releases the binding, the run options and the pinned values. Only the model does this, once no one holds the runner.</summary>
    internal void Release()
    {
        _binding.Dispose();
        _runOptions.Dispose();
        foreach (OnnxTensorBuffer buffer in _inputs)
        {
            buffer.Dispose();
        }

        foreach (OnnxTensorBuffer buffer in _outputs)
        {
            buffer.Dispose();
        }
    }

    private long WarmUpRental()
    {
        long rental = _warmUpRental;
        if (!IsRentedBy(rental))
        {
            ThrowNotInWarmUp();
        }

        return rental;
    }

    private OnnxTensorBuffer Numeric<T>(string name)
        where T : unmanaged
    {
        OnnxTensorBuffer buffer = Find(_inputs, name, "input");
        if (buffer.ClrType != typeof(T))
        {
            ThrowWrongType(buffer, typeof(T), "input");
        }

        return buffer;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ClearStrings(OnnxTensorBuffer buffer)
    {
        for (int i = 0; i < buffer.ElementCount; i++)
        {
            buffer.Value.StringTensorSetElementAt(ReadOnlySpan<char>.Empty, i);
        }
    }

    // Names are few (a handful of tensors): a linear scan with a reference check first beats hashing the name.
    private OnnxTensorBuffer Find(OnnxTensorBuffer[] buffers, string name, string kind)
    {
        foreach (OnnxTensorBuffer buffer in buffers)
        {
            if (ReferenceEquals(buffer.Name, name) || string.Equals(buffer.Name, name, StringComparison.Ordinal))
            {
                return buffer;
            }
        }

        return ThrowUnknown(buffers, name, kind);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private OnnxTensorBuffer ThrowUnknown(OnnxTensorBuffer[] buffers, string name, string kind) =>
        throw new KeyNotFoundException($"Model '{_model.Name}' has no {kind} '{name}' in the typed API; its {kind}s: {string.Join(", ", buffers.Select(static b => b.Name))}.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowWrongType(OnnxTensorBuffer buffer, Type requested, string kind) =>
        throw new InvalidOperationException($"Model '{_model.Name}': {kind} '{buffer.Name}' has elements of type {buffer.ElementType} ({buffer.ClrType?.Name ?? "string"}), not {requested.Name}.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowWrongLength(OnnxTensorBuffer buffer, int given) =>
        throw new ArgumentException($"Model '{_model.Name}': input '{buffer.Name}' takes {buffer.ElementCount} values (shape [{string.Join(",", buffer.Shape)}]), but {given} were given.", "values");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowIndexOutOfRange(OnnxTensorBuffer buffer, int index) =>
        throw new ArgumentOutOfRangeException(nameof(index), index, $"Model '{_model.Name}': input '{buffer.Name}' holds {buffer.ElementCount} strings (shape [{string.Join(",", buffer.Shape)}]); index {index} is outside it.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowNotWritten(OnnxTensorBuffer buffer) =>
        throw new InvalidOperationException($"Model '{_model.Name}': input '{buffer.Name}' was not written since this inference was rented. Write every input before Run() (SetInput, Input<T> or SetString): a pooled runner's buffers still hold the previous caller's values.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowNotRun(OnnxTensorBuffer buffer) =>
        throw new InvalidOperationException($"Model '{_model.Name}': output '{buffer.Name}' is read before Run() in this inference; it would hold the previous caller's results.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowNotInWarmUp() =>
        throw new ObjectDisposedException(nameof(OnnxRunner), "This OnnxRunner was lent to OnnxRuntimeOptions.WarmUpInputs for the warm-up run only, and that rental ended. Serve requests through the OnnxInference that cache.Rent() returns.");
}
