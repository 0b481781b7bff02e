using System.Runtime.CompilerServices;
using Microsoft.ML.OnnxRuntime;
using ModelCaching.Onnx.Inference;

namespace ModelCaching.Onnx;

/// <summary>
/// Runs one session with reused inputs and outputs: each numeric tensor is a managed array pinned once and bound to
/// the session (ONNX Runtime reads and writes it in place), so a run copies nothing and allocates nothing. Write the
/// inputs (<see cref="Input{T}"/>, <see cref="SetString(string, ReadOnlySpan{char})"/>), call <see cref="Run"/>, read the
/// outputs (<see cref="Output{T}"/>). Runners are pooled per model generation and used by one caller at a time:
/// get one with <see cref="OnnxModelCacheExtensions.Rent"/>; values left in its buffers are the previous caller's.
/// </summary>
public sealed class OnnxRunner
{
    private readonly OnnxModel _model;
    private readonly RunOptions _runOptions;
    private readonly OrtIoBinding _binding;
    private readonly OnnxTensorBuffer[] _inputs;
    private readonly OnnxTensorBuffer[] _outputs;

    // The rental that may return this runner (0 when idle): a stale OnnxInference copy cannot return it twice.
    internal int ActiveRental;
    internal int Rentals;

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

    /// <summary>The pinned elements of the numeric input <paramref name="name"/>, to write before <see cref="Run"/>.</summary>
    /// <typeparam name="T">The element type: <see cref="float"/> for Float, <see cref="long"/> for Int64, and so on.</typeparam>
    /// <exception cref="KeyNotFoundException">The model has no such input.</exception>
    /// <exception cref="InvalidOperationException"><typeparamref name="T"/> is not the input's element type.</exception>
    public Span<T> Input<T>(string name)
        where T : unmanaged
    {
        OnnxTensorBuffer buffer = Find(_inputs, name, "input");
        if (buffer.ClrType != typeof(T))
        {
            ThrowWrongType(buffer, typeof(T), "input");
        }

        return Unsafe.As<T[]>(buffer.Data!);
    }

    /// <summary>The elements of the output <paramref name="name"/> after <see cref="Run"/>; valid until the runner is returned.</summary>
    /// <typeparam name="T">The element type: <see cref="float"/> for Float, <see cref="uint"/> for UInt32, and so on.</typeparam>
    /// <exception cref="KeyNotFoundException">The runner does not compute such an output (see <see cref="OnnxRuntimeOptions.Outputs"/>).</exception>
    /// <exception cref="InvalidOperationException"><typeparamref name="T"/> is not the output's element type.</exception>
    public ReadOnlySpan<T> Output<T>(string name)
        where T : unmanaged
    {
        OnnxTensorBuffer buffer = Find(_outputs, name, "output");
        if (buffer.ClrType != typeof(T))
        {
            ThrowWrongType(buffer, typeof(T), "output");
        }

        return Unsafe.As<T[]>(buffer.Data!);
    }

    /// <summary>Sets the first element of the string input <paramref name="name"/> (UTF-8 in native memory; no managed allocation).</summary>
    public void SetString(string name, ReadOnlySpan<char> value) => SetString(name, 0, value);

    /// <summary>Sets element <paramref name="index"/> of the string input <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">The model has no such input.</exception>
    /// <exception cref="InvalidOperationException">The input is not a string tensor.</exception>
    public void SetString(string name, int index, ReadOnlySpan<char> value)
    {
        OnnxTensorBuffer buffer = Find(_inputs, name, "input");
        if (buffer.ClrType is not null)
        {
            ThrowWrongType(buffer, typeof(string), "input");
        }

        buffer.Value.StringTensorSetElementAt(value, index);
    }

    /// <summary>Runs the session on the current inputs; the outputs are written in place.</summary>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime failed (a shape that does not fit the model, say).</exception>
    public void Run() => _model.Session.RunWithBinding(_runOptions, _binding);

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
}
