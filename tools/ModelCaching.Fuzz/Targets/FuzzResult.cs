namespace ModelCaching.Fuzz.Targets;

/// <summary>The outcome of one input, a signature that groups inputs failing the same way, and the message.</summary>
public readonly record struct FuzzResult(FuzzOutcome Outcome, string Signature, string Detail);
