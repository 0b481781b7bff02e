namespace ModelCaching;

/// <summary>
/// Who made a template's model and keeps its name (<see cref="ModelCacheProvider"/>): told when the model's first load
/// fails, so that a name nothing serves under (made up by a client, say) is not kept.
/// </summary>
internal interface IModelCacheOwner
{
    /// <summary>
    /// <paramref name="cache"/>'s first load failed and nothing ever served: the owner forgets the name, logs
    /// <paramref name="failure"/> (rate-limited), and disposes the cache once <paramref name="answered"/> (the load its
    /// callers wait for) completes, so that they get the failure rather than an <see cref="ObjectDisposedException"/>.
    /// </summary>
    void OnFirstLoadFailed(IModelCache cache, ModelLoadException failure, Task answered);
}
