using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace ModelCaching.Redis.Tests.Support;

/// <summary>
/// A TCP gate in front of a <see cref="RedisServer"/>, on a free 127.0.0.1 port of its own. While open it forwards each
/// connection to the server, byte for byte; while closed it closes each new connection at once, so a client behind it
/// sees Redis down while the rest of the test reaches the server directly. A connection ends when either side closes
/// (a killed server ends every connection through the gate too). It lets a test decide when a client may reconnect.
/// </summary>
public sealed class RedisGate : IAsyncDisposable
{
    private readonly RedisServer _server;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<TcpClient, bool> _connections = new();
    private readonly Task _accepting;
    private volatile bool _open = true;

    private RedisGate(RedisServer server)
    {
        _server = server;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync(_stopping.Token);
    }

    public int Port { get; }

    /// <summary>The StackExchange.Redis configuration string through the gate (as <see cref="RedisServer.Configuration"/>).</summary>
    public string Configuration => $"127.0.0.1:{Port},abortConnect=false,connectTimeout=2000,syncTimeout=2000,asyncTimeout=2000,connectRetry=1";

    /// <summary>Whether new connections are forwarded (<see langword="true"/> at start) or closed at once.</summary>
    public bool IsOpen
    {
        get => _open;
        set => _open = value;
    }

    public static RedisGate Start(RedisServer server) => new(server);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        foreach (TcpClient connection in _connections.Keys)
        {
            connection.Dispose();
        }

        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stopping.Dispose();
    }

    private async Task AcceptAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpClient client = await _listener.AcceptTcpClientAsync(stopping);
            if (!_open)
            {
                client.Dispose();
                continue;
            }

            _ = ForwardAsync(client, stopping);
        }
    }

    private async Task ForwardAsync(TcpClient client, CancellationToken stopping)
    {
        var upstream = new TcpClient();
        _connections[client] = true;
        _connections[upstream] = true;
        try
        {
            await upstream.ConnectAsync(IPAddress.Loopback, _server.Port, stopping);
            Task up = client.GetStream().CopyToAsync(upstream.GetStream(), stopping);
            Task down = upstream.GetStream().CopyToAsync(client.GetStream(), stopping);
            await Task.WhenAny(up, down);

            // One side closed: close both, which ends the other copy too.
            client.Dispose();
            upstream.Dispose();
            await Task.WhenAll(up, down);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // Either side went away: both are closed.
        }
        finally
        {
            _connections.TryRemove(client, out _);
            _connections.TryRemove(upstream, out _);
            client.Dispose();
            upstream.Dispose();
        }
    }
}
