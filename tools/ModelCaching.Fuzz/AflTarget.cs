using Microsoft.ML;
using ModelCaching.ML;
using SharpFuzz;

namespace ModelCaching.Fuzz;

/// <summary>
/// <c>--afl</c>: the coverage-guided mode, for AFL++ through SharpFuzz. AFL++ starts this process once, then hands
/// it input after input (a fork server); an exception that escapes is a crash. The target is
/// <see cref="MLNetModelLoader"/> itself rather than a whole cache: a cache's timers and thread-pool loads are state
/// that outlives one input, which a fork-server harness cannot reset. A loader exception that is not one of its
/// documented plain causes escapes, and so does anything worse (out of memory, a stack overflow).
/// </summary>
internal static class AflTarget
{
    public static void Run()
    {
        // Created on the first input: instrumented code (ML.NET's, once instrumented) must not run before
        // Fuzzer.OutOfProcess.Run has set up the shared coverage map, or it writes through a null map.
        MLNetModelLoader? loader = null;
        Fuzzer.OutOfProcess.Run(stream =>
        {
            loader ??= new MLNetModelLoader(new MLContext(seed: 1));
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            try
            {
                loader.LoadAsync(new ModelArtifact(buffer.ToArray(), "afl-input.zip"), CancellationToken.None).AsTask().GetAwaiter().GetResult();
            }
            catch (Exception ex) when (ex is InvalidDataException or MissingModelComponentException)
            {
                // The loader's own plain causes: what a damaged file must produce.
            }
        });
    }
}
