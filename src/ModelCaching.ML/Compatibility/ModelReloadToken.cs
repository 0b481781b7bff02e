using Microsoft.Extensions.Primitives;

namespace ModelCaching.ML.Compatibility;

/// <summary>A change token a <see cref="ModelLoader"/> fires with <see cref="OnReload"/> when its model changed.</summary>
public class ModelReloadToken : IChangeToken
{
    private readonly CancellationTokenSource _cts = new();

    /// <summary>Initializes a new instance of <see cref="ModelReloadToken"/>.</summary>
    public ModelReloadToken()
    {
    }

    /// <summary>Always <see langword="true"/>: the token raises its callbacks itself.</summary>
    public bool ActiveChangeCallbacks => true;

    /// <summary>Whether <see cref="OnReload"/> was called.</summary>
    public bool HasChanged => _cts.IsCancellationRequested;

    /// <summary>Registers a callback invoked when the token fires.</summary>
    /// <param name="callback">The callback.</param>
    /// <param name="state">The state passed to it.</param>
    /// <returns>A registration that unregisters the callback when disposed.</returns>
    public IDisposable RegisterChangeCallback(Action<object?> callback, object? state) => _cts.Token.Register(callback, state);

    /// <summary>Fires the token: the model changed.</summary>
    public void OnReload() => _cts.Cancel();
}
