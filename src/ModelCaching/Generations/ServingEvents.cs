namespace ModelCaching.Generations;

/// <summary>
/// The handlers of a cache's <c>Reloaded</c> and <c>Unloaded</c> events, made by its <see cref="ServingChanges{TModel}"/>
/// at the first subscription: a model nobody subscribes to (most of a template's models) holds one reference, not two
/// (issue 18: what a known name costs).
/// </summary>
/// <remarks>
/// Subscriptions change the handlers under this object's lock (rare); a raise reads them once, without it, as a
/// field-like event does.
/// </remarks>
internal sealed class ServingEvents
{
    private EventHandler<ModelReloadedEventArgs>? _reloaded;
    private EventHandler<ModelUnloadedEventArgs>? _unloaded;

    public EventHandler<ModelReloadedEventArgs>? Reloaded => Volatile.Read(ref _reloaded);

    public EventHandler<ModelUnloadedEventArgs>? Unloaded => Volatile.Read(ref _unloaded);

    public void AddReloaded(EventHandler<ModelReloadedEventArgs>? handler)
    {
        lock (this)
        {
            Volatile.Write(ref _reloaded, _reloaded + handler);
        }
    }

    public void RemoveReloaded(EventHandler<ModelReloadedEventArgs>? handler)
    {
        lock (this)
        {
            Volatile.Write(ref _reloaded, _reloaded - handler);
        }
    }

    public void AddUnloaded(EventHandler<ModelUnloadedEventArgs>? handler)
    {
        lock (this)
        {
            Volatile.Write(ref _unloaded, _unloaded + handler);
        }
    }

    public void RemoveUnloaded(EventHandler<ModelUnloadedEventArgs>? handler)
    {
        lock (this)
        {
            Volatile.Write(ref _unloaded, _unloaded - handler);
        }
    }
}
