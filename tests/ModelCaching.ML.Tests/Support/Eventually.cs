namespace ModelCaching.ML.Tests.Support;

/// <summary>Bounded waits for work on other threads; never a bare sleep.</summary>
public static class Eventually
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static async Task TrueAsync(Func<bool> condition, string what)
    {
        using var cts = new CancellationTokenSource(Timeout);
        while (!condition())
        {
            if (cts.IsCancellationRequested)
            {
                Assert.Fail($"Timed out after {Timeout} waiting for: {what}");
            }

            await Task.Delay(5);
        }
    }
}
