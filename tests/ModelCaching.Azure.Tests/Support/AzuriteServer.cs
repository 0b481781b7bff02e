using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ModelCaching.Azure.Tests.Support;

/// <summary>
/// A real Azurite blob service (Microsoft's storage emulator, <c>npm install -g azurite</c>; <c>.ci/run</c> installs it) on
/// a free 127.0.0.1 port with in-memory persistence, started with a bounded wait until it answers HTTP. It can be killed
/// (SIGKILL, with the processes it started) and is killed when the test process exits (or on Ctrl+C), so a failed or
/// interrupted run leaves none behind. No mock of the storage service stands in for it.
/// </summary>
public sealed class AzuriteServer : IAsyncDisposable
{
    /// <summary>Azurite's well-known development account and key (public, in Microsoft's documentation).</summary>
    public const string AccountName = "devstoreaccount1";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(30);
    private readonly string _directory = Directory.CreateTempSubdirectory("modelcaching-azurite-").FullName;
    private Process? _process;

    private AzuriteServer(int port)
    {
        Port = port;
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
        Console.CancelKeyPress += OnProcessExit;
    }

    public int Port { get; }

    public Uri ServiceUri => new($"http://127.0.0.1:{Port}/{AccountName}");

    public string ConnectionString => $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};BlobEndpoint={ServiceUri};";

    public static async Task<AzuriteServer> StartAsync()
    {
        var server = new AzuriteServer(FreePort());
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts the emulator (again, after <see cref="Kill"/>: empty, it keeps nothing in memory) on the same port.</summary>
    public async Task StartAgainAsync()
    {
        if (_process is { HasExited: false })
        {
            throw new InvalidOperationException("azurite-blob is already running");
        }

        var start = new ProcessStartInfo("azurite-blob")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory,
        };

        // --skipApiVersionCheck: Azure.Storage.Blobs 12.30.1 asks for a service version newer than Azurite 3.35 knows;
        // --loose: headers the SDK sends that Azurite does not implement are ignored rather than refused.
        foreach (string argument in (string[])["--blobHost", "127.0.0.1", "--blobPort", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry"])
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            _process = Process.Start(start) ?? throw new InvalidOperationException("azurite-blob did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("azurite-blob is not installed: npm install -g azurite (.ci/run installs it)", ex);
        }

        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        _process.OutputDataReceived += (_, line) => output.Enqueue(line.Data ?? string.Empty);
        _process.ErrorDataReceived += (_, line) => output.Enqueue(line.Data ?? string.Empty);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var bound = Stopwatch.StartNew();
        while (!await AnswersAsync(client))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"azurite-blob exited at start with code {_process.ExitCode} (port {Port}): {string.Join(" ", output.TakeLast(5))}");
            }

            if (bound.Elapsed > StartBound)
            {
                throw new TimeoutException($"azurite-blob did not answer on port {Port} within {StartBound}");
            }

            await Task.Delay(50, CancellationToken.None);
        }
    }

    /// <summary>Kills the emulator and what it started with SIGKILL (no shutdown) and waits until it has exited.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                throw new TimeoutException("azurite-blob did not exit after SIGKILL");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        Console.CancelKeyPress -= OnProcessExit;
        _process?.Dispose();
        await Task.Yield();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void OnProcessExit(object? sender, EventArgs e)
    {
        try
        {
            Kill();
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            // Already gone, or not gone in time: nothing more to do as the process exits.
        }
    }

    // Any HTTP answer (Azurite says 400 or 403 to an unsigned request) means it is up.
    private async Task<bool> AnswersAsync(HttpClient client)
    {
        try
        {
            using HttpResponseMessage response = await client.GetAsync(ServiceUri);
            return true;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
