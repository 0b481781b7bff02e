using System.Linq.Expressions;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace ModelCaching.ML;

/// <summary>
/// Makes the object a prediction fills, for the pool's calls to <c>PredictionEngine.Predict(input, ref output)</c>.
/// </summary>
/// <remarks>
/// Hand-written because of how .NET compiles generics: <see cref="PredictionPool{TData, TPrediction}"/> is generic over
/// two reference types, so its code is shared by every pair of types, and ML.NET's <c>Predict(input)</c> inlined into it
/// makes its <c>new TPrediction()</c> there through <see cref="Activator.CreateInstance{T}"/> with a runtime type lookup on
/// every call. A caller's own code (a raw engine called with the real types) skips the lookup. A <c>new</c> compiled once
/// for the real type is a delegate call and an allocation; the engine then fills the object exactly as its
/// <c>Predict(input)</c> does (that method is <c>new TPrediction()</c>, then <c>Predict(input, ref result)</c>).
/// Where code cannot be compiled at run time (Native AOT, which ML.NET does not support), it is the plain <c>new</c>.
/// </remarks>
internal static class NewPrediction<TPrediction>
    where TPrediction : class, new()
{
    /// <summary>
    /// Makes a new <typeparamref name="TPrediction"/> with its parameterless constructor; an exception the constructor
    /// throws reaches the caller as itself, on either branch.
    /// </summary>
    public static readonly Func<TPrediction> Create = RuntimeFeature.IsDynamicCodeCompiled
        ? Expression.Lambda<Func<TPrediction>>(Expression.New(typeof(TPrediction))).Compile()
        : CreateWithoutCompiledCode;

    // new TPrediction() is Activator.CreateInstance<T>(), which wraps what the constructor throws. Internal for its test.
    internal static TPrediction CreateWithoutCompiledCode()
    {
        try
        {
            return new TPrediction();
        }
        catch (TargetInvocationException wrapped) when (wrapped.InnerException is { } thrown)
        {
            ExceptionDispatchInfo.Throw(thrown);
            throw; // not reached
        }
    }
}
