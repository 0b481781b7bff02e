using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ModelCaching.Azure.Tests.Support;

/// <summary>
/// A TCP proxy in front of Azurite that answers the first <c>throttle</c> requests with <c>503 ServerBusy</c> (what a
/// throttling storage account says) and closes the connection, then forwards every later connection to Azurite byte for
/// byte. Azurite cannot be made to throttle; this puts the real answer of a throttled account in front of the real
/// emulator, so the SDK's retry policy (which the source leaves in charge) is exercised as it is in Azure.
/// </summary>
public sealed class ThrottlingProxy : IAsyncDisposable
{
    private const string Busy = "HTTP/1.1 503 The server is busy.\r\nx-ms-error-code: ServerBusy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _throttleLeft;
    private int _throttled;

    public ThrottlingProxy(int targetPort, int throttle)
    {
        _targetPort = targetPort;
        _throttleLeft = throttle;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>How many requests were answered 503.</summary>
    public int Throttled => Volatile.Read(ref _throttled);

    public string ConnectionString => $"DefaultEndpointsProtocol=http;AccountName={AzuriteServer.AccountName};AccountKey={AzuriteServer.AccountKey};BlobEndpoint=http://127.0.0.1:{Port}/{AzuriteServer.AccountName};";

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting.ContinueWith(static _ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                NetworkStream downstream = client.GetStream();
                byte[] head = await ReadHeadAsync(downstream);
                if (Interlocked.Decrement(ref _throttleLeft) >= 0)
                {
                    Interlocked.Increment(ref _throttled);
                    await downstream.WriteAsync(Encoding.ASCII.GetBytes(Busy), _stop.Token);
                    return;
                }

                using var target = new TcpClient();
                await target.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
                NetworkStream upstream = target.GetStream();
                await upstream.WriteAsync(head, _stop.Token);
                await Task.WhenAny(downstream.CopyToAsync(upstream, _stop.Token), upstream.CopyToAsync(downstream, _stop.Token));
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // A connection that ends is this proxy's normal end.
            }
        }
    }

    // The request line and headers (and whatever body bytes arrived with them), up to the blank line.
    private async Task<byte[]> ReadHeadAsync(NetworkStream stream)
    {
        var head = new MemoryStream();
        byte[] buffer = new byte[4096];
        while (head.GetBuffer().AsSpan(0, (int)head.Length).IndexOf("\r\n\r\n"u8) < 0)
        {
            int read = await stream.ReadAsync(buffer, _stop.Token);
            if (read == 0)
            {
                throw new IOException("the client closed before sending a request");
            }

            head.Write(buffer, 0, read);
        }

        return head.ToArray();
    }
}
