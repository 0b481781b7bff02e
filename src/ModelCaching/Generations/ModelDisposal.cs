using Microsoft.Extensions.Logging;
using ModelCaching.Diagnostics;

namespace ModelCaching.Generations;

/// <summary>Disposes a model that implements <see cref="IAsyncDisposable"/> or <see cref="IDisposable"/>, logging failures instead of throwing.</summary>
internal static class ModelDisposal
{
    /// <summary>Disposes <paramref name="model"/>; an asynchronous disposal that does not finish at once is observed in the background.</summary>
    /// <returns><see langword="true"/> when the model was disposable and its disposal did not fail synchronously.</returns>
    public static bool TryDispose(object model, ILogger logger, string modelName, long generation)
    {
        try
        {
            switch (model)
            {
                case IAsyncDisposable asyncDisposable:
                    ValueTask pending = asyncDisposable.DisposeAsync();
                    if (!pending.IsCompletedSuccessfully)
                    {
                        _ = ObserveAsync(pending, logger, modelName, generation);
                    }

                    return true;
                case IDisposable disposable:
                    disposable.Dispose();
                    return true;
                default:
                    return false;
            }
        }
        catch (Exception ex)
        {
            Log.GenerationDisposeFailed(logger, ex, modelName, generation);
            return false;
        }
    }

    private static async Task ObserveAsync(ValueTask pending, ILogger logger, string modelName, long generation)
    {
        try
        {
            await pending.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.GenerationDisposeFailed(logger, ex, modelName, generation);
        }
    }
}
