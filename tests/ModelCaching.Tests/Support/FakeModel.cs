namespace ModelCaching.Tests.Support;

/// <summary>A disposable model that counts its disposals and any use after disposal.</summary>
public sealed class FakeModel(string content) : IDisposable
{
    private static int s_usesAfterDispose;
    private int _disposed;

    public static int UsesAfterDispose => Volatile.Read(ref s_usesAfterDispose);

    public string Content { get; } = content;

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    public int DisposeCount => Volatile.Read(ref _disposed);

    /// <summary>A "prediction": fails the test run's counter if the model was disposed.</summary>
    public string Predict()
    {
        if (IsDisposed)
        {
            Interlocked.Increment(ref s_usesAfterDispose);
            throw new ObjectDisposedException(nameof(FakeModel));
        }

        return Content;
    }

    public void Dispose() => Interlocked.Increment(ref _disposed);
}
