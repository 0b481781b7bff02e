using System.Runtime.CompilerServices;
using Microsoft.ML.OnnxRuntime;

namespace ModelCaching.Onnx.Tests.Support;

/// <summary>
/// ONNX Runtime's environment is process-wide and created once. The tests create it first, with global thread pools,
/// so that the test of <see cref="OnnxRuntimeOptions.UseGlobalThreadPool"/> does not depend on which test runs first;
/// every other test still uses per-session pools.
/// </summary>
internal static class GlobalThreadPoolEnvironment
{
    [ModuleInitializer]
    internal static void Create()
    {
        using var threading = new OrtThreadingOptions { GlobalIntraOpNumThreads = 1, GlobalInterOpNumThreads = 1 };
        var options = new EnvironmentCreationOptions { threadOptions = threading };
        OrtEnv.CreateInstanceWithOptions(ref options);
    }
}
