namespace ModelCaching.Tests.ModelBased.Engine;

/// <summary>
/// Which invariants the model-based test checks, and how much slack the budget has. The invariants that today's code
/// breaks (issue 17) are off here so the short run can gate CI; the lead turns each on when the fix it needs is merged.
/// <c>MODELCACHING_MBT_ALL_INVARIANTS=1</c> turns all of them on for one run (that is how the repros were found).
/// </summary>
public static class MbtInvariants
{
    /// <summary>
    /// How many models (of the largest declared size) usage may exceed the budget by while an evictable model is
    /// resident. 1 while the overdraft model exists (issue 17 items 1, 2, 5); set to 0 once the budget is a cap.
    /// </summary>
    public const int OverdraftModelsAllowed = 0;

    /// <summary>Usage ≤ limit + <see cref="OverdraftModelsAllowed"/> models while an evictable model is resident. Off until issue 17 item 2 (a charge larger than its reservation) is merged.</summary>
    public const bool BudgetCap = true;

    /// <summary>No model disposed twice, or while a lease of ours holds it; no leased model seen disposed. Holds today (item 10's race is rare; see the report).</summary>
    public const bool Disposal = true;

    /// <summary>
    /// Once hung loaders are released, faults stop and time passes cool-downs, every call ends and every model that fits
    /// loads. (Seed 17 found a reload whose new and serving versions did not fit together waiting for its own serving
    /// bytes at the head of the memory queue; it now fails at once: see
    /// ShrunkSequenceRegressionTests.AReloadThatCannotFitBesideItsServingVersion_DoesNotHoldTheQueueForOtherModels.)
    /// </summary>
    public const bool EventuallyLoads = true;

    /// <summary>Content whose loads never failed because of the content is never answered "rejected". Off until issue 17 item 7 is merged.</summary>
    public const bool OnlyContentIsBadContent = true;

    private static readonly bool s_all = Environment.GetEnvironmentVariable("MODELCACHING_MBT_ALL_INVARIANTS") == "1";

    // MODELCACHING_MBT_INVARIANTS=budget,disposal,eventually,content: exactly these (to look for one kind of failure at a time).
    private static readonly string[]? s_only = Environment.GetEnvironmentVariable("MODELCACHING_MBT_INVARIANTS")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    // Set by a regression test for the invariants it is about (flows with the test's thread).
    private static readonly AsyncLocal<string[]?> s_override = new();

    private static string[]? Only => s_override.Value ?? s_only;

    /// <summary>Checks exactly <paramref name="invariants"/> (budget, disposal, eventually, content) until the result is disposed.</summary>
    public static IDisposable Checking(params string[] invariants)
    {
        s_override.Value = invariants;
        return new Reset();
    }

    public static bool CheckBudgetCap => Only is { } only ? only.Contains("budget") : BudgetCap || s_all;

    public static bool CheckDisposal => Only is { } only ? only.Contains("disposal") : Disposal || s_all;

    public static bool CheckEventuallyLoads => Only is { } only ? only.Contains("eventually") : EventuallyLoads || s_all;

    public static bool CheckOnlyContentIsBadContent => Only is { } only ? only.Contains("content") : OnlyContentIsBadContent || s_all;

    /// <summary>The slack in models: <see cref="OverdraftModelsAllowed"/>, or the value of <c>MODELCACHING_MBT_OVERDRAFT_MODELS</c>.</summary>
    public static int Overdraft =>
        int.TryParse(Environment.GetEnvironmentVariable("MODELCACHING_MBT_OVERDRAFT_MODELS"), out int models) ? models : OverdraftModelsAllowed;

    private sealed class Reset : IDisposable
    {
        public void Dispose() => s_override.Value = null;
    }
}
