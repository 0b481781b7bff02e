using Microsoft.Extensions.Primitives;

namespace ModelCaching.Reload;

/// <summary>
/// Hands out <see cref="IChangeToken"/>s that all fire on the next <see cref="Fire"/>; each fire starts a
/// new round. The shape <see cref="ChangeToken.OnChange(Func{IChangeToken?}, Action)"/> expects.
/// </summary>
internal sealed class ChangeSignal
{
    private readonly Lock _gate = new();
    private CancellationTokenSource _round = new();

    public IChangeToken GetToken()
    {
        lock (_gate)
        {
            return new CancellationChangeToken(_round.Token);
        }
    }

    /// <summary>Fires the current round's tokens. Callbacks run on the calling thread.</summary>
    public void Fire()
    {
        CancellationTokenSource fired;
        lock (_gate)
        {
            fired = _round;
            _round = new CancellationTokenSource();
        }

        // Not disposed: a consumer may still read fired.Token from a token handed out just before the swap,
        // and a CancellationTokenSource without a timer holds nothing that needs disposing.
        fired.Cancel();
    }
}
