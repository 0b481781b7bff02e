using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ModelCaching.Benchmarks.Fleet;

/// <summary>
/// A real <c>redis-server</c> (Debian's package) on a free 127.0.0.1 port, without persistence, in a temporary
/// directory; started with a bounded wait for PING and killed on dispose (and on process exit, so a failed or interrupted
/// run leaves none behind). Copied in part from tests/ModelCaching.Redis.Tests/Support/RedisServer.cs: benchmarks do not
/// reference the test project.
/// </summary>
internal sealed class BenchmarkRedisServer : IAsyncDisposable
{
    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(20);
    private readonly string _directory;
    private readonly Process _process;

    private BenchmarkRedisServer(int port, Process process, string directory)
    {
        Port = port;
        _process = process;
        _directory = directory;
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
        Console.CancelKeyPress += OnProcessExit;
    }

    public int Port { get; }

    /// <summary>The StackExchange.Redis configuration string of this server.</summary>
    public string Configuration => $"127.0.0.1:{Port},abortConnect=false,connectTimeout=2000,syncTimeout=2000,asyncTimeout=2000,connectRetry=1";

    public static async Task<BenchmarkRedisServer> StartAsync()
    {
        int port = FreePort();
        var start = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string directory = Directory.CreateTempSubdirectory("modelcaching-bench-redis-").FullName;
        start.WorkingDirectory = directory;
        foreach (string argument in (string[])["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory])
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("redis-server is not installed: apt-get install -y redis-server", ex);
        }

        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new BenchmarkRedisServer(port, process, directory);
        try
        {
            using var bound = new CancellationTokenSource(StartBound);
            while (!await server.PingAsync(bound.Token))
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"redis-server exited at start with code {process.ExitCode} (port {port})");
                }

                if (bound.IsCancellationRequested)
                {
                    throw new TimeoutException($"redis-server did not answer PING on port {port} within {StartBound}");
                }

                await Task.Delay(20, CancellationToken.None);
            }
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        Console.CancelKeyPress -= OnProcessExit;
        _process.Dispose();
        await Task.Yield();
        TryDelete(_directory);
    }

    private void OnProcessExit(object? sender, EventArgs e) => Kill();

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
            NetworkStream stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), cancellationToken);
            var buffer = new byte[64];
            int read = await stream.ReadAsync(buffer, cancellationToken);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
