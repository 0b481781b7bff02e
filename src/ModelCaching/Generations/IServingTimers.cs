namespace ModelCaching.Generations;

/// <summary>
/// The timers a <see cref="ModelSlot{TModel}"/> tells of its transitions, under its lock, so that a timer is never armed
/// for a state that has already passed (the cache's refresh-ahead, retry and idle timers).
/// </summary>
internal interface IServingTimers
{
    /// <summary>After a load or an unchanged refresh: no retry pending; the refresh and idle clocks start over.</summary>
    void OnLoaded();

    /// <summary>Keeps the time-to-live refresh going when no retry is coming.</summary>
    void ArmRefresh();

    /// <summary>Retries a failed load after <paramref name="delay"/>.</summary>
    void ArmRetry(TimeSpan delay);

    /// <summary>
    /// After a failed load: the retry in <paramref name="retryIn"/>, or when none is coming (known-bad content, retries
    /// off) and a model still serves, the time-to-live refresh goes on so that a later version is still picked up.
    /// </summary>
    void OnLoadFailed(TimeSpan? retryIn, bool stillServing)
    {
        if (retryIn is { } delay)
        {
            ArmRetry(delay);
        }
        else if (stillServing)
        {
            ArmRefresh();
        }
    }

    /// <summary>Nothing serves any more: no refresh and no retry.</summary>
    void OnUnloaded();
}
