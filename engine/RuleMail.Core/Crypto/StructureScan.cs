namespace RuleMail.Crypto;

/// <summary>What <see cref="StructureScan"/> found: the first bound a message is over (null when none), and whether its top-level header block was complete and within bounds.</summary>
internal readonly record struct StructureScanResult(string? Problem, bool TopHeadersComplete);

/// <summary>
/// Bounds a message's structure before MimeKit parses it (placeholder: accepts everything; the scan follows).
/// </summary>
internal static class StructureScan
{
    /// <summary>The deepest MIME nesting judged.</summary>
    public const int MaxDepth = 64;

    public static StructureScanResult Run(Stream raw, SecurityPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(raw);
        ArgumentNullException.ThrowIfNull(policy);
        return new StructureScanResult(null, true);
    }
}
