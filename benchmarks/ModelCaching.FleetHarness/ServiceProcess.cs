using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ModelCaching.FleetHarness;

/// <summary>
/// A .NET application as its own OS process (<c>dotnet {dll} --urls http://127.0.0.1:{port} {arguments}</c>), as an
/// operator runs it: a sample API instance or the router. What it writes is kept (the last 64 KB) for failure messages.
/// It is killed with SIGKILL (<see cref="Kill"/>, its process tree included) on dispose, and when this process exits or
/// is interrupted, so a failed run leaves nothing behind. The harness and the process tests use it.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServiceProcess(Process process, int port, string name)
    {
        _process = process;
        Port = port;
        Name = name;
        Address = $"http://127.0.0.1:{port}";
        Client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = new Uri(Address), Timeout = TimeSpan.FromSeconds(30) };
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
        Console.CancelKeyPress += OnProcessExit;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>What the process is (an instance id, <c>router</c>), for messages.</summary>
    public string Name { get; }

    public int Port { get; }

    /// <summary><c>http://127.0.0.1:{port}</c>.</summary>
    public string Address { get; }

    /// <summary>A client whose base address is <see cref="Address"/>.</summary>
    public HttpClient Client { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The processor time the process has used so far (user and system); zero once it has exited.</summary>
    public TimeSpan ProcessorTime
    {
        get
        {
            try
            {
                _process.Refresh();
                return _process.HasExited ? TimeSpan.Zero : _process.TotalProcessorTime;
            }
            catch (InvalidOperationException)
            {
                return TimeSpan.Zero; // exited meanwhile
            }
        }
    }

    /// <summary>The last lines the process wrote (stdout and stderr).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts <c>dotnet <paramref name="assembly"/> --urls http://127.0.0.1:{port} <paramref name="arguments"/></c> from the assembly's directory.</summary>
    /// <param name="name">What the process is, for messages.</param>
    /// <param name="assembly">The application's dll.</param>
    /// <param name="port">The port to listen on (<see cref="FreePort"/>).</param>
    /// <param name="arguments">More command-line arguments (configuration keys: <c>--ModelCache:Fleet:Configuration=…</c>).</param>
    public static ServiceProcess Start(string name, string assembly, int port, IEnumerable<string> arguments)
    {
        if (!File.Exists(assembly))
        {
            throw new FileNotFoundException($"The build output of {name} is missing; build the project that references it.", assembly);
        }

        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
        };
        start.ArgumentList.Add(assembly);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        Process process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        return new ServiceProcess(process, port, name);
    }

    /// <summary>Waits (bounded, polling) until <c>GET <paramref name="path"/></c> answers 200.</summary>
    public async Task WaitUntilReadyAsync(string path, TimeSpan bound)
    {
        using var cancel = new CancellationTokenSource(bound);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} (port {Port}) exited with code {_process.ExitCode} at start:\n{Output}");
            }

            try
            {
                using HttpResponseMessage response = await Client.GetAsync(path, cancel.Token);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (OperationCanceledException)
            {
                // One request timed out, or the bound passed (checked below).
            }

            if (cancel.IsCancellationRequested)
            {
                throw new TimeoutException($"{Name} (port {Port}) did not answer 200 on {path} within {bound}:\n{Output}");
            }

            await Task.Delay(50, CancellationToken.None);
        }
    }

    /// <summary>Kills the process (SIGKILL: no shutdown, no leaving the fleet) and its children, and waits until it has exited.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        Console.CancelKeyPress -= OnProcessExit;
        Client.Dispose();
        _process.Dispose();
        await Task.Yield();
    }

    /// <summary>A port nothing listens on now, on 127.0.0.1.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void OnProcessExit(object? sender, EventArgs e) => Kill();

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            if (_output.Length > 64 * 1024)
            {
                _output.Remove(0, _output.Length / 2); // the last lines are the ones that say why
            }

            _output.AppendLine(line);
        }
    }
}
