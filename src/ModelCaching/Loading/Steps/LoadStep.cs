using ModelCaching.FailSafe;

namespace ModelCaching.Loading;

/// <summary>
/// One step of a load (<see cref="LoadPipeline{TModel}"/>): it runs on the attempt's thread, under its token, reads and
/// writes the load's <see cref="LoadContext{TModel}"/>, and holds no state of its own: what it needs of the model (its
/// settings, loader, host) it reads from the context's pipeline, so one instance of each step serves every model (a
/// fetch step, which holds the model's source, is the exception).
/// </summary>
internal abstract class LoadStep<TModel>
    where TModel : class
{
    /// <summary>
    /// Whether this step judges the content: a failure in it may be the content's fault (<see cref="ContentFault"/>),
    /// remembered against its hash. <see langword="null"/> for steps whose failures are never the content's.
    /// </summary>
    public virtual ContentCheck? Check => null;

    /// <summary>Runs the step; <see langword="false"/> ends the load here with the outcome the context holds (unchanged, known bad).</summary>
    public abstract bool Run(LoadContext<TModel> context);

    // The attempt's thread waits for a step that completes asynchronously; a step that completes synchronously
    // (file, ML.NET, ONNX Runtime) never touches the thread pool.
    internal static T Block<T>(ValueTask<T> step) => step.IsCompletedSuccessfully ? step.Result : step.AsTask().GetAwaiter().GetResult();

    internal static void Block(ValueTask step)
    {
        if (!step.IsCompletedSuccessfully)
        {
            step.AsTask().GetAwaiter().GetResult();
        }
    }
}
