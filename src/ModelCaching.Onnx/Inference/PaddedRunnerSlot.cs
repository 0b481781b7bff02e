using System.Runtime.InteropServices;

namespace ModelCaching.Onnx.Inference;

/// <summary>
/// One idle runner, alone on its cache lines (128 bytes: adjacent-line prefetchers pull lines in pairs). Slots that
/// shared a line cost ModelCaching.ML ~25% of two-thread throughput to false sharing.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct PaddedRunnerSlot
{
    [FieldOffset(64)]
    public OnnxRunner? Runner;
}
