using ModelCaching.ML.CompatibilityTests.Samples;

namespace ModelCaching.ML.CompatibilityTests.Support;

public static class TestModels
{
    public static string IrisPath { get; } = Path.Combine(AppContext.BaseDirectory, "TestModels", "iris.zip");

    public static string TaxiFarePath { get; } = Path.Combine(AppContext.BaseDirectory, "TestModels", "taxi-fare.zip");

    public static string FastTreePath { get; } = Path.Combine(AppContext.BaseDirectory, "TestModels", "fasttree-regression.zip");

    public static IrisData Setosa => new() { SepalLength = 5.1f, SepalWidth = 3.5f, PetalLength = 1.4f, PetalWidth = 0.2f };

    public static IrisData Virginica => new() { SepalLength = 6.7f, SepalWidth = 3.0f, PetalLength = 5.2f, PetalWidth = 2.3f };
}

/// <summary>A temp folder holding a copy of a model; deleted on dispose.</summary>
public sealed class TempModel : IDisposable
{
    public TempModel(string source)
    {
        Folder = Path.Combine(Path.GetTempPath(), "modelcaching-compat-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
        FilePath = Path.Combine(Folder, "model.zip");
        File.Copy(source, FilePath);
    }

    public string Folder { get; }

    public string FilePath { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Serves files on 127.0.0.1 with HttpListener, for FromUri.</summary>
public sealed class LocalModelServer : IDisposable
{
    private readonly System.Net.HttpListener _listener = new();
    private readonly byte[] _content;
    private readonly Task _loop;
    private int _requests;

    public LocalModelServer(byte[] content)
    {
        _content = content;
        int port = FreePort();
        BaseAddress = $"http://127.0.0.1:{port}/";
        _listener.Prefixes.Add(BaseAddress);
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public string BaseAddress { get; }

    public int Requests => Volatile.Read(ref _requests);

    public void Dispose()
    {
        _listener.Close();
        try
        {
            _loop.Wait(Eventually.Timeout);
        }
        catch (AggregateException)
        {
        }
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            System.Net.HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is System.Net.HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            Interlocked.Increment(ref _requests);
            context.Response.ContentType = "application/zip";
            context.Response.ContentLength64 = _content.Length;
            await context.Response.OutputStream.WriteAsync(_content);
            context.Response.Close();
        }
    }

    private static int FreePort()
    {
        var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        int port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }
}
