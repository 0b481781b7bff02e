using StackExchange.Redis;

namespace ModelCaching.Redis.Records;

/// <summary>
/// The fleet's one Redis connection, made on first use. With <c>abortConnect=false</c> making it does not wait for
/// Redis: the multiplexer connects (and reconnects) in the background, and <see cref="IsConnected"/> says where it is.
/// A connection from <see cref="RedisFleetOptions.ConnectionMultiplexerFactory"/> is the application's and is not disposed.
/// </summary>
internal sealed class FleetConnection(FleetSettings settings) : IAsyncDisposable, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnectionMultiplexer? _multiplexer;
    private bool _owned;
    private bool _disposed;

    /// <summary>Whether the connection is up now (false before it was made).</summary>
    public bool IsConnected => Volatile.Read(ref _multiplexer) is { IsConnected: true };

    /// <summary>The connection, made on first call.</summary>
    public async ValueTask<IConnectionMultiplexer> GetAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _multiplexer) is { } made)
        {
            return made;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_multiplexer is null)
            {
                if (settings.ConnectionFactory is { } factory)
                {
                    _multiplexer = await factory().ConfigureAwait(false);
                }
                else
                {
                    _multiplexer = await ConnectionMultiplexer.ConnectAsync(settings.Configuration!).ConfigureAwait(false);
                    _owned = true;
                }
            }

            return _multiplexer;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The database, made on first call.</summary>
    public async ValueTask<IDatabase> DatabaseAsync(CancellationToken cancellationToken) =>
        (await GetAsync(cancellationToken).ConfigureAwait(false)).GetDatabase();

    public void Dispose()
    {
        _gate.Wait();
        try
        {
            _disposed = true;
            if (_owned)
            {
                _multiplexer?.Dispose();
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _disposed = true;
            if (_owned && _multiplexer is not null)
            {
                await _multiplexer.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }
}
