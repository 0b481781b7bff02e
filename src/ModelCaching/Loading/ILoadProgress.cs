namespace ModelCaching.Loading;

/// <summary>
/// Where a load says what it is doing, for the message of its timeout (<see cref="LoadAttempt{TModel}.Step"/>): the
/// memory budget writes what a reservation waits for here, outside its lock.
/// </summary>
internal interface ILoadProgress
{
    /// <summary>The step running now: "loading", "waiting for memory: …".</summary>
    string Step { get; set; }
}
