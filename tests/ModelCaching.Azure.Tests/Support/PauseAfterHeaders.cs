using Azure.Core;
using Azure.Core.Pipeline;

namespace ModelCaching.Azure.Tests.Support;

/// <summary>
/// Holds the first body download (a GET answered 200 or 206) after its headers arrived and before a byte of the body is
/// read, until the test releases it: so the test can kill the emulator or cancel the load in the middle of a download.
/// </summary>
public sealed class PauseAfterHeaders : HttpPipelinePolicy
{
    private readonly TaskCompletionSource _paused = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _cancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _armed;

    /// <summary>Completes when a download is held.</summary>
    public Task Paused => _paused.Task;

    /// <summary>Completes when the held download's request was cancelled (its token fired) while held.</summary>
    public Task Cancelled => _cancelled.Task;

    /// <summary>Arms the pause for the next download.</summary>
    public void Arm() => Volatile.Write(ref _armed, 1);

    public void Release() => _released.TrySetResult();

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
        throw new NotSupportedException("the source downloads asynchronously");

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        await ProcessNextAsync(message, pipeline);
        if (message.Request.Method == RequestMethod.Get && message.Response.Status is 200 or 206 && Interlocked.Exchange(ref _armed, 0) == 1)
        {
            _paused.TrySetResult();
            try
            {
                await _released.Task.WaitAsync(message.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                _cancelled.TrySetResult();
                throw;
            }
        }
    }
}
