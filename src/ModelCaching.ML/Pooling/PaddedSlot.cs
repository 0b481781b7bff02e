using System.Runtime.InteropServices;

namespace ModelCaching.ML;

/// <summary>
/// One idle engine, alone on its cache lines. Engines sit in per-core slots; slots that shared a line were
/// measured to cost ~25% of two-thread throughput to false sharing, so each takes 128 bytes (two lines,
/// because adjacent-line prefetchers pull lines in pairs). Non-generic because the runtime does not allow
/// explicit layout on generic types.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct PaddedSlot
{
    [FieldOffset(64)]
    public object? Value;
}
