namespace ModelCaching.Loading;

/// <summary>
/// What a <see cref="LoadAttempt{TModel}"/> tells the one who started it (<see cref="LoadCoordinator{TModel}"/>): the
/// work to run on its thread, its abandonment, and the end of its thread.
/// </summary>
internal interface ILoadAttemptOwner<TModel>
    where TModel : class
{
    /// <summary>On the attempt's own thread, once it holds a load slot.</summary>
    void Run(LoadAttempt<TModel> attempt);

    /// <summary>The attempt timed out, was refused a thread, or the cache is being disposed (<paramref name="cause"/> is then an <see cref="OperationCanceledException"/>).</summary>
    void OnAbandoned(LoadAttempt<TModel> attempt, Exception cause);

    /// <summary>The attempt's thread ended (<see cref="LoadAttempt{TModel}.HasEnded"/> is already set).</summary>
    void OnEnded(LoadAttempt<TModel> attempt);
}
