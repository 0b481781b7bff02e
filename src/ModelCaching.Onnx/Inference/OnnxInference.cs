using Microsoft.ML.OnnxRuntime;

namespace ModelCaching.Onnx;

/// <summary>
/// A rented <see cref="OnnxRunner"/> and the lease that pins its model generation: the session cannot be disposed
/// while the inference lives, even when a reload swaps the model. A struct so that renting allocates nothing;
/// dispose it once (a <see langword="using"/> statement does). A second <see cref="Dispose"/>, or one on a copy, does nothing.
/// </summary>
public readonly struct OnnxInference : IDisposable
{
    private readonly ModelLease<OnnxModel> _lease;
    private readonly OnnxRunner? _runner;
    private readonly int _rental;

    internal OnnxInference(ModelLease<OnnxModel> lease, OnnxRunner runner, int rental)
    {
        _lease = lease;
        _runner = runner;
        _rental = rental;
    }

    /// <summary>The runner: write inputs, <see cref="OnnxRunner.Run"/>, read outputs.</summary>
    /// <exception cref="InvalidOperationException">The inference is <see langword="default"/>.</exception>
    public OnnxRunner Runner => _runner ?? throw new InvalidOperationException("This OnnxInference is default: it holds no runner. Rent one with IModelCache<OnnxModel>.Rent().");

    /// <summary>The version of the pinned model generation.</summary>
    public ModelVersion Version => _lease.Version;

    /// <summary>The shared session of the pinned generation, for what the typed API does not cover.</summary>
    public InferenceSession Session => Runner.Session;

    /// <inheritdoc cref="OnnxRunner.Input{T}(string)"/>
    public Span<T> Input<T>(string name)
        where T : unmanaged => Runner.Input<T>(name);

    /// <inheritdoc cref="OnnxRunner.SetString(string, ReadOnlySpan{char})"/>
    public void SetString(string name, ReadOnlySpan<char> value) => Runner.SetString(name, 0, value);

    /// <inheritdoc cref="OnnxRunner.Run"/>
    public void Run() => Runner.Run();

    /// <inheritdoc cref="OnnxRunner.Output{T}(string)"/>
    public ReadOnlySpan<T> Output<T>(string name)
        where T : unmanaged => Runner.Output<T>(name);

    /// <summary>Returns the runner to its generation's pool, then ends the lease.</summary>
    public void Dispose()
    {
        OnnxRunner? runner = _runner;
        if (runner is not null && Interlocked.CompareExchange(ref runner.ActiveRental, 0, _rental) == _rental)
        {
            // The runner goes back before the lease ends, so a generation is never disposed with a runner still out.
            runner.Model.ReturnRunner(runner);
            _lease.Dispose();
        }
    }
}
