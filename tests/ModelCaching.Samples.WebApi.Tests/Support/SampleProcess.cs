using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ModelCaching.Samples.WebApi.Tests.Support;

/// <summary>
/// The sample API as its own OS process, exactly as an operator runs it: <c>dotnet ModelCaching.Samples.WebApi.dll
/// --urls http://127.0.0.1:{free port}</c> from the sample's build output, configured by environment variables
/// (<c>ModelCache__Fleet__Configuration</c>, ...). It is killed (with its process tree) on dispose, and when the test process
/// exits or is interrupted, so a failed run leaves no instance behind. What it wrote is kept for failure messages.
/// </summary>
internal sealed class SampleProcess : IAsyncDisposable
{
    /// <summary>A bound for a loaded 2-core machine to start the runtime and load the model, not a wait.</summary>
    public static readonly TimeSpan StartBound = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly string _modelDirectory;

    private SampleProcess(Process process, int port, string modelDirectory)
    {
        _process = process;
        _modelDirectory = modelDirectory;
        Port = port;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
        Console.CancelKeyPress += OnProcessExit;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Port { get; }

    public HttpClient Client { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the process wrote (stdout and stderr), for failure messages.</summary>
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

    /// <summary>
    /// The sample's own build output (samples/ModelCaching.Samples.WebApi/bin/{configuration}/{framework}), built with
    /// this project (a project reference), in the same configuration as this test assembly.
    /// </summary>
    public static string SampleAssemblyPath
    {
        get
        {
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            string framework = output.Name;
            string configuration = output.Parent!.Name;
            DirectoryInfo root = output.Parent.Parent!.Parent!.Parent!.Parent!; // tests/ModelCaching.Samples.WebApi.Tests/bin/{c}/{f}
            return Path.Combine(root.FullName, "samples", "ModelCaching.Samples.WebApi", "bin", configuration, framework, "ModelCaching.Samples.WebApi.dll");
        }
    }

    /// <summary>Starts the sample on a free 127.0.0.1 port with <paramref name="environment"/> (configuration keys with <c>__</c>) and a model directory of its own.</summary>
    /// <param name="environment">More environment variables.</param>
    /// <param name="urlsFromEnvironment">Gives the address in the <c>URLS</c> environment variable instead of <c>--urls</c>.</param>
    public static SampleProcess Start(IReadOnlyDictionary<string, string> environment, bool urlsFromEnvironment = false)
    {
        string assembly = SampleAssemblyPath;
        if (!File.Exists(assembly))
        {
            throw new FileNotFoundException("The sample's build output is missing; build the test project (it references the sample).", assembly);
        }

        int port = FreePort();
        string modelDirectory = Directory.CreateTempSubdirectory("modelcaching-sample-process-").FullName;
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
        };
        start.ArgumentList.Add(assembly);
        if (urlsFromEnvironment)
        {
            start.Environment["URLS"] = $"http://127.0.0.1:{port}";
        }
        else
        {
            start.ArgumentList.Add("--urls");
            start.ArgumentList.Add($"http://127.0.0.1:{port}");
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Sample__ModelDirectory"] = modelDirectory;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__ModelCaching"] = "Warning";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        foreach ((string key, string value) in environment)
        {
            start.Environment[key] = value;
        }

        Process process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        return new SampleProcess(process, port, modelDirectory);
    }

    /// <summary>Waits (bounded, polling) until <c>GET /health/ready</c> answers 200: the model serves.</summary>
    public async Task WaitUntilReadyAsync()
    {
        using var bound = new CancellationTokenSource(StartBound);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The sample (port {Port}) exited with code {_process.ExitCode} at start:\n{Output}");
            }

            try
            {
                using HttpResponseMessage response = await Client.GetAsync("/health/ready", bound.Token);
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
                // One request timed out (or the bound passed: checked below).
            }

            if (bound.IsCancellationRequested)
            {
                throw new TimeoutException($"The sample (port {Port}) was not ready within {StartBound}:\n{Output}");
            }

            await Task.Delay(50, CancellationToken.None);
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
        try
        {
            Directory.Delete(_modelDirectory, recursive: true);
        }
        catch (IOException)
        {
            // The temp folder is cleaned by the OS.
        }
    }

    private void Kill()
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

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
